"""The command line: audit verify/show/export, quarantine, replay, runs prune — exit codes and JSON."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from openconnector.cli import app
from openconnector.config import load_project
from openconnector.pipelines import run_pipeline
from openconnector.registers import RunLog, Store
from tests.audit.conftest import write_history
from tests.pipelines.memory import MemoryConnector

runner = CliRunner()


@pytest.fixture
def cli_env(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENCONNECTOR_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def config(folder: Path, minimum: int) -> Path:
    age = {"type": "integer", "minimum": minimum}
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "age": age}}
    (folder / "person.json").write_text(json.dumps(schema))
    path = folder / "openconnector.yaml"
    path.write_text(
        textwrap.dedent("""
        registers:
          crm:
            schemas: {person: person.json}
        sources:
          mem: {type: memory}
        mappings:
          people:
            mapping: {name: name, age: age}
            cast: {age: int}
        pipelines:
          people:
            source: mem
            read: {dataset: cli, batch_size: 10}
            mapping: people
            target: crm/person
            retention: {records_days: 0, runs_days: 0}
        """)
    )
    return path


def test_audit_verify_show_and_a_tampered_trail(people: Store, cli_env: Path) -> None:
    ids = write_history(people)
    res = cli("audit", "verify", "--json")
    assert res.exit_code == 0, res.output
    doc = orjson.loads(res.stdout)
    assert doc["ok"] is True and doc["checked"] == 10 and doc["first_bad"] is None
    assert "intact" in cli("audit", "verify").output

    res = cli("audit", "show", ids[0], "--json")
    assert res.exit_code == 0
    page = orjson.loads(res.stdout)
    assert [e["action"] for e in page["results"]] == ["update", "update", "create"] and page["total"] == 3
    human = cli("audit", "show", ids[0]).output
    assert "$.age: 31 → 32" in human and "api:bob" in human
    assert orjson.loads(cli("audit", "show", ids[0], "--actor", "api:alice", "--json").stdout)["total"] == 1

    with people.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET body = replace(body, 'Utrecht', 'Parijs') WHERE seq = 2"))
    res = cli("audit", "verify", "--json")
    assert res.exit_code == 1
    bad = orjson.loads(res.stdout)["first_bad"]
    assert (bad["seq"], bad["problem"], bad["object_id"]) == (2, "edited", ids[1])
    res = cli("audit", "verify")
    assert res.exit_code == 1 and "TAMPERED" in res.output and "seq 2" in res.output


def test_audit_verify_without_a_key_cannot_verify(people: Store, cli_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write_history(people, 2)
    monkeypatch.delenv("OPENCONNECTOR_AUDIT_KEY")
    res = cli("audit", "verify", "--json")
    assert res.exit_code == 2 and "no audit signing key" in orjson.loads(res.stdout)["error"]["message"]


def test_quarantine_replay_and_prune(store: Store, cli_env: Path) -> None:
    path = config(cli_env, minimum=0)
    project = load_project(path)
    store.sync_registers({"crm": None}, project.schemas)
    MemoryConnector.DATA["cli"] = [
        {"id": i, "name": f"N{i}", "age": str(a)} for i, a in enumerate([5, -1, -2, 7])
    ]
    first = asyncio.run(run_pipeline(project, store, "people"))
    assert first.counts["quarantined"] == 2

    res = cli("quarantine", "-c", str(path), "--json")
    assert res.exit_code == 0, res.output
    groups = orjson.loads(res.stdout)
    assert groups["records"] == 2 and groups["results"][0]["count"] == 2
    assert "minimum" in groups["results"][0]["error"] and groups["results"][0]["origin_ids"] == ["1", "2"]
    assert "2 records in 1 groups" in cli("quarantine", "-c", str(path)).output

    assert cli("replay", "-c", str(path)).exit_code == 2
    res = cli("replay", "-c", str(path), "--run", first.id, "--error", "x")
    assert res.exit_code == 2, res.output
    res = cli("replay", "-c", str(path), "--quarantine", "--json")
    assert res.exit_code == 1  # the schema is not fixed yet: they stay quarantined
    assert orjson.loads(res.stdout)["still_quarantined"] == 2

    config(cli_env, minimum=-10)  # the fix
    res = cli("replay", "-c", str(path), "--run", first.id, "--dry-run")
    assert res.exit_code == 0 and "dry run" in res.output and "2 would land" in res.output
    RunLog(store.engine).acquire("people", "another-run")
    res = cli("replay", "-c", str(path), "--quarantine", "--pipeline", "people")
    assert res.exit_code == 1 and "already running" in res.output
    RunLog(store.engine).release("people", "another-run")
    res = cli("replay", "-c", str(path), "--quarantine", "--pipeline", "people", "--json")
    assert res.exit_code == 0, res.output
    done = orjson.loads(res.stdout)
    assert done["resolved"] == 2 and done["runs"][0]["trigger"] == "replay"
    assert orjson.loads(cli("quarantine", "-c", str(path), "--json").stdout)["records"] == 0

    res = cli("runs", "prune", "--json")  # the config says: keep nothing
    assert res.exit_code == 0, res.output
    pruned = orjson.loads(res.stdout)
    assert pruned["pipelines"]["people"]["runs"] == 3
    assert orjson.loads(cli("audit", "verify", "--json").stdout)["checked"] == 4  # the trail stays
