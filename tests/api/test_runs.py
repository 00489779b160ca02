"""Manual runs over HTTP: 202 with the run id at once, never two runs of one pipeline."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from openconnector.api import ServiceOptions
from openconnector.cli import app
from openconnector.registers import RunLog, Store
from tests.api.test_auth import assert_error
from tests.triggers.gated import GatedConnector
from tests.triggers.service import Server, people, start_server


def wait_run(client: httpx.Client, run_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = client.get(f"/api/runs/{run_id}").json()
        if doc["status"] not in ("queued", "running"):
            return dict(doc)
        assert time.monotonic() < deadline, doc
        time.sleep(0.02)


def test_run_answers_at_once_and_continues_in_the_background(server: Server) -> None:
    GatedConnector.DATA["people"] = [*people(120), {"id": "bad", "first": "X", "last": "Y", "age": "-1"}]
    entered, release = GatedConnector.gate("people")
    with server.client("operator") as c:
        r = c.post("/api/pipelines/people/run")
        assert r.status_code == 202, r.text
        started = r.json()
        assert started["status"] == "running" and started["url"] == f"/api/runs/{started['id']}"
        assert entered.wait(10)
        running = c.get(started["url"]).json()  # the row exists as soon as the answer came
        assert running["status"] == "running" and running["trigger"] == "manual"
        assert c.get("/api/pipelines/people").json()["@self"]["running"] == started["id"]
        release.set()
        done = wait_run(c, started["id"])
        assert done["status"] == "ok", done
        assert done["counts"]["read"] == 121 and done["counts"]["created"] == 120
        assert done["counts"]["quarantined"] == 1
        log = done["records"]
        assert log["total"] == 121 and len(log["results"]) == 100
        bad = c.get(started["url"], params={"outcome": "quarantined"}).json()["records"]
        assert (
            bad["total"] == 1
            and bad["results"][0]["origin_id"] == "bad"
            and "$.age" in bad["results"][0]["error"]
        )
        tail = c.get(started["url"], params={"_offset": 120}).json()["records"]
        assert len(tail["results"]) == 1
        listing = c.get("/api/runs", params={"pipeline": "people", "status": "ok"}).json()
        assert listing["total"] == 1 and listing["results"][0]["id"] == started["id"]
        assert c.get("/api/objects/crm/person").json()["total"] == 120
        assert_error(c.get("/api/runs", params={"status": "great"}), 422, "invalid_request")
        assert_error(c.get("/api/runs/does-not-exist"), 404, "not_found")
        server.call(server.service.dispatcher.drain())  # the finished run is counted
        metrics = c.get("/metrics").text
        assert 'openconnector_runs_total{pipeline="people",status="ok",trigger="manual"} 1.0' in metrics
        assert 'openconnector_records_total{outcome="created",pipeline="people"} 120.0' in metrics


def test_triggered_twice_at_once_runs_once(server: Server) -> None:
    GatedConnector.DATA["people"] = people(10)
    _, release = GatedConnector.gate("people")
    results: list[Any] = []

    def trigger() -> None:
        with server.client("operator") as c:
            results.append(c.post("/api/pipelines/people/run"))

    threads = [threading.Thread(target=trigger) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [202, 409, 409, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 202).json()["id"]
    for r in results:
        if r.status_code == 409:
            err = r.json()["error"]
            assert err["code"] == "pipeline_busy" and winner in err["message"]
            assert err["details"]["running_run_id"] == winner
    release.set()
    with server.client() as c:
        assert wait_run(c, winner)["status"] == "ok"
        assert c.get("/api/runs", params={"pipeline": "people"}).json()["total"] == 1


def test_the_cli_and_the_server_share_one_lock(
    server: Server, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCONNECTOR_DATABASE_URL", store_url)
    GatedConnector.DATA["people"] = people(3)
    entered, release = GatedConnector.gate("people")
    config = str(server.service.config.path)
    with server.client("operator") as c:
        run_id = c.post("/api/pipelines/people/run").json()["id"]
        assert entered.wait(10)
        result = CliRunner().invoke(app, ["run", "people", "-c", config, "--json"])
        assert result.exit_code == 1 and "already running" in result.stdout and run_id in result.stdout
        release.set()
        assert wait_run(c, run_id)["status"] == "ok"
        GatedConnector.GATES.clear()
        result = CliRunner().invoke(app, ["run", "people", "-c", config, "--json"])
        assert result.exit_code == 0, result.output  # the CLI runs while the server is up
        assert c.get("/api/runs", params={"pipeline": "people"}).json()["total"] == 2

        # a lock held by another process (its own engine) is honoured too
        other = Store(store_url)
        RunLog(other.engine).acquire("people", "other-process-run")
        err = assert_error(c.post("/api/pipelines/people/run"), 409, "pipeline_busy")
        assert "other-process-run" in err["message"]
        RunLog(other.engine).release("people", "other-process-run")
        other.dispose()
        assert c.post("/api/pipelines/people/run").status_code == 202


def test_dry_run_and_unknown_pipeline(server: Server) -> None:
    GatedConnector.DATA["people"] = people(5)
    with server.client("operator") as c:
        r = c.post("/api/pipelines/people/run", json={"dry_run": True})
        assert r.status_code == 202 and r.json()["dry_run"] is True
        doc = wait_run(c, r.json()["id"])
        assert doc["dry_run"] is True and doc["counts"]["created"] == 5
        assert c.get("/api/objects/crm/person").json()["total"] == 0
        assert_error(c.post("/api/pipelines/nope/run"), 404, "not_found")
        err = assert_error(c.post("/api/pipelines/people/run", json={"fast": True}), 422, "invalid_request")
        assert err["details"][0]["path"] == "body.fast"


def test_runs_a_stopped_process_left_running_are_marked_interrupted(
    project_path: Path, store_url: str
) -> None:
    store = Store(store_url)
    RunLog(store.engine).start("left-running", "people", "manual")  # its process died: no lock held
    srv = start_server(project_path, ServiceOptions(database_url=store_url, scheduler=False))
    try:
        with srv.client() as c:
            run = c.get("/api/runs/left-running").json()
            assert run["status"] == "failed" and "interrupted" in run["errors"][0]["message"]
    finally:
        srv.stop()
        store.dispose()
