"""Webhooks: signed deliveries start a pull or carry records; forged, expired, replayed and
malformed deliveries are refused (401/400/422), recorded, and process nothing."""

from __future__ import annotations

import gc
import time
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from openconnector.registers import RunLog, Store
from openconnector.triggers import HEADER, sign
from tests.api.test_auth import assert_error
from tests.api.test_runs import wait_run
from tests.triggers.gated import GatedConnector
from tests.triggers.service import HOOK_SECRET, Server, people


def post(
    client: httpx.Client,
    pipeline: str,
    doc: Any,
    *,
    secret: str = HOOK_SECRET,
    ts: int | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    body = raw if raw is not None else orjson.dumps(doc)
    return client.post(f"/hooks/{pipeline}", content=body, headers={HEADER: sign(secret, body, ts)})


def attempts(client: httpx.Client, pipeline: str) -> list[dict[str, Any]]:
    page = client.get(f"/api/pipelines/{pipeline}/webhook-attempts", params={"_limit": 100}).json()
    return list(page["results"])


def nothing_processed(client: httpx.Client, pipeline: str) -> None:
    assert client.get("/api/runs", params={"pipeline": pipeline}).json()["total"] == 0
    assert client.get("/api/objects/crm/person").json()["total"] == 0


def test_records_in_the_body_land_through_the_pipeline(server: Server) -> None:
    with server.client(role=None) as hook, server.client() as api:
        r = post(
            hook, "hooked", {"data": [*people(25), {"id": "x", "first": "A", "last": "B", "age": "old"}]}
        )
        assert r.status_code == 202, r.text
        accepted = r.json()
        assert accepted["records"] == 26 and accepted["status"] == "queued" and accepted["run_id"]
        run = wait_run(api, accepted["run_id"])
        assert run["status"] == "ok" and run["trigger"] == "webhook", run
        assert run["counts"]["created"] == 25 and run["counts"]["quarantined"] == 1
        objs = api.get("/api/objects/crm/person", params={"_limit": 100}).json()
        assert objs["total"] == 25 and objs["results"][0]["@self"]["source"]["pipeline"] == "hooked"
        one = post(hook, "hooked", {"data": {"id": 1000, "first": "Solo", "last": "Record", "age": 5}})
        assert one.status_code == 202 and one.json()["records"] == 1
        assert wait_run(api, one.json()["run_id"])["counts"]["created"] == 1
        same_again = post(hook, "hooked", {"data": people(25)})  # idempotent: nothing changes
        assert wait_run(api, same_again.json()["run_id"])["counts"]["unchanged"] == 25
        server.call(server.service.dispatcher.drain())  # the queue is done with the deliveries too
        log = attempts(api, "hooked")
        assert [a["outcome"] for a in log] == ["accepted"] * 3
        assert all(a["state"] == "done" for a in log)  # bodies dropped once their run was done
        empty = post(hook, "hooked", {"data": []})
        assert empty.status_code == 202 and empty.json()["run_id"] is None


def test_a_pull_webhook_starts_a_pull(server: Server) -> None:
    GatedConnector.DATA["pulled"] = people(7)
    with server.client(role=None) as hook, server.client() as api:
        r = post(hook, "pulled", {"event": "changed"})
        assert r.status_code == 202 and r.json()["records"] is None
        run = wait_run(api, r.json()["run_id"])
        assert run["trigger"] == "webhook" and run["counts"]["created"] == 7


@pytest.mark.parametrize(
    ("case", "outcome"),
    [
        ("wrong-secret", "bad_signature"),
        ("tampered-body", "bad_signature"),
        ("expired", "expired"),
        ("future", "expired"),
        ("missing", "missing_signature"),
        ("malformed", "bad_signature"),
    ],
)
def test_forged_and_expired_signatures_are_401_and_process_nothing(
    server: Server, case: str, outcome: str
) -> None:
    body = orjson.dumps({"data": people(3)})
    headers = {
        "wrong-secret": {HEADER: sign("not-the-secret", body)},
        "tampered-body": {HEADER: sign(HOOK_SECRET, body.replace(b"F1", b"F9"))},
        "expired": {HEADER: sign(HOOK_SECRET, body, int(time.time()) - 301)},
        "future": {HEADER: sign(HOOK_SECRET, body, int(time.time()) + 600)},
        "missing": {},
        "malformed": {HEADER: "sha256=abc"},
    }[case]
    with server.client(role=None) as hook, server.client() as api:
        r = hook.post("/hooks/hooked", content=body, headers=headers)
        err = assert_error(r, 401, outcome)
        assert err["details"]["attempt_id"]
        time.sleep(0.2)
        nothing_processed(api, "hooked")
        log = attempts(api, "hooked")
        assert len(log) == 1 and log[0]["outcome"] == outcome and log[0]["status_code"] == 401
        assert log[0]["id"] == err["details"]["attempt_id"] and log[0]["run_id"] is None
        assert (
            f'openconnector_webhooks_total{{outcome="{outcome}",pipeline="hooked"}} 1.0'
            in api.get("/metrics").text
        )


def test_a_replayed_signature_is_refused(server: Server) -> None:
    body = orjson.dumps({"data": people(3)})
    signed_at = int(time.time())
    signature = sign(HOOK_SECRET, body, signed_at)
    with server.client(role=None) as hook, server.client() as api:
        first = hook.post("/hooks/hooked", content=body, headers={HEADER: signature})
        assert first.status_code == 202
        again = hook.post("/hooks/hooked", content=body, headers={HEADER: signature})
        assert_error(again, 401, "replayed")
        wait_run(api, first.json()["run_id"])
        assert api.get("/api/runs", params={"pipeline": "hooked"}).json()["total"] == 1
        assert [a["outcome"] for a in attempts(api, "hooked")] == ["replayed", "accepted"]
        # the same body signed anew (another timestamp) is a new delivery
        anew = {HEADER: sign(HOOK_SECRET, body, signed_at - 1)}
        assert hook.post("/hooks/hooked", content=body, headers=anew).status_code == 202


def test_bad_bodies_and_unknown_pipelines(server: Server) -> None:
    with server.client(role=None) as hook, server.client() as api:
        err = assert_error(post(hook, "hooked", None, raw=b"{this is not json"), 400, "bad_body")
        assert "not valid JSON" in err["message"]
        err = assert_error(post(hook, "hooked", {"items": []}), 422, "no_records")
        assert "'data'" in err["message"]
        assert_error(post(hook, "hooked", {"data": "text"}), 422, "no_records")
        nothing_processed(api, "hooked")
        assert_error(post(hook, "nope", {"data": []}), 404, "unknown_pipeline")
        err = assert_error(post(hook, "people", {"data": []}), 404, "no_webhook")
        assert "no webhook trigger" in err["message"]
        assert [a["outcome"] for a in attempts(api, "hooked")] == ["no_records", "no_records", "bad_body"]


def test_deliveries_to_a_busy_pipeline_queue_into_one_run(
    server: Server, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = Store(store_url)  # another process holds the pipeline
    RunLog(other.engine).acquire("hooked", "other-process-run")
    try:
        with server.client(role=None) as hook, server.client() as api:
            answers = [post(hook, "hooked", {"data": people(10, start=i * 10)}).json() for i in range(3)]
            run_ids = {a["run_id"] for a in answers}
            assert len(run_ids) <= 2  # the first may have been taken already; the rest share a run
            queued = api.get(f"/api/runs/{answers[-1]['run_id']}").json()
            assert queued["status"] == "queued"
            time.sleep(0.3)
            assert api.get("/api/runs", params={"pipeline": "hooked"}).json()["total"] == 0
            RunLog(other.engine).release("hooked", "other-process-run")
            runs = [wait_run(api, rid) for rid in run_ids]
            assert sum(r["counts"]["created"] for r in runs) == 30
            assert api.get("/api/runs", params={"pipeline": "hooked"}).json()["total"] == len(run_ids)
    finally:
        other.dispose()
    gc.collect()  # the busy attempts' futures: none may hold a failure nobody read
    assert "never retrieved" not in caplog.text


def test_deliveries_a_stopped_server_accepted_are_run_later(server: Server) -> None:
    inbox = server.service.inbox
    body = orjson.dumps({"data": people(4)})
    inbox.accept(
        "hooked", signature="a" * 64, signed_at=int(time.time()), run_id="run-of-a-dead-server",
        records=4, body=body.decode(), remote=None, body_bytes=len(body),
    )  # fmt: skip
    with server.client() as api:
        assert server.call(server.service.dispatcher.recover(older_than_s=0)) == 1
        row = attempts(api, "hooked")[0]
        assert row["run_id"] != "run-of-a-dead-server"
        run = wait_run(api, row["run_id"])
        assert run["counts"]["created"] == 4
        server.call(server.service.dispatcher.drain())
        assert attempts(api, "hooked")[0]["state"] == "done"
        assert server.call(server.service.dispatcher.recover(older_than_s=0)) == 0


def test_webhook_attempts_endpoint(server: Server) -> None:
    with server.client("viewer") as api:
        assert_error(api.get("/api/pipelines/nope/webhook-attempts"), 404, "not_found")
        assert api.get("/api/pipelines/hooked/webhook-attempts").json()["total"] == 0


def test_body_storage_is_dropped_and_signature_unique_in_db(server: Server) -> None:
    with server.client(role=None) as hook, server.client() as api:
        r = post(hook, "hooked", {"data": people(2)})
        wait_run(api, r.json()["run_id"])
        server.call(server.service.dispatcher.drain())
    with server.service.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT state, body, signature FROM webhook_attempts")).all()
    assert (
        len(rows) == 1 and rows[0].state == "done" and rows[0].body is None and len(rows[0].signature) == 64
    )


def test_a_disabled_pipeline_refuses_webhooks(server: Server) -> None:
    with server.client() as api, server.client(role=None) as hook:
        pipeline = api.get("/api/pipelines/hooked").json()
        pipeline["enabled"] = False
        assert api.put("/api/pipelines/hooked", json=pipeline).status_code == 200
        assert api.get("/api/pipelines/hooked").json()["triggers"][0]["webhook"]["secret"] == "**********"
        assert_error(post(hook, "hooked", {"data": people(2)}), 409, "disabled")
        nothing_processed(api, "hooked")
