"""The CLI contract: commands, `--json` shapes from DESIGN.md, exit codes 0/1/2."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openconnector.cli import app
from tests.pipelines.memory import MemoryConnector

RUN_KEYS = {
    "id",
    "pipeline",
    "trigger",
    "status",
    "counts",
    "started_at",
    "finished_at",
    "duration_s",
    "errors",
}
COUNT_KEYS = {"read", "created", "updated", "unchanged", "filtered", "quarantined", "failed", "deleted"}

CONFIG = """
registers:
  crm:
    schemas:
      person:
        type: object
        required: [name]
        properties:
          name: {type: string}
          age: {type: integer, minimum: 0}
sources:
  mem: {type: memory}
mappings:
  person:
    mapping:
      name: "{{ first }} {{ last }}"
      age: age
    cast: {age: int}
pipelines:
  people:
    source: mem
    read: {dataset: cli-people}
    mapping: person
    target: crm/person
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENCONNECTOR_DATABASE_URL", raising=False)
    (tmp_path / "openconnector.yaml").write_text(CONFIG)
    MemoryConnector.DATA["cli-people"] = [
        {"id": 1, "first": "Ann", "last": "A", "age": "41"},
        {"id": 2, "first": "Bob", "last": "B", "age": "x"},  # cast fails: quarantined
        {"id": 3, "first": "Cas", "last": "C", "age": "7"},
    ]
    return tmp_path


def invoke(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(args))
    try:
        doc = json.loads(result.stdout)
    except ValueError:
        doc = result.output
    return result.exit_code, doc


def test_validate_ok_and_json(project: Path) -> None:
    code, doc = invoke("validate", "--json")
    assert code == 0 and doc["valid"] is True and doc["pipelines"] == 1


def test_validate_reports_every_problem_exit_2(project: Path) -> None:
    (project / "openconnector.yaml").write_text(
        CONFIG.replace("source: mem", "source: nope").replace(
            "target: crm/person", "target: crm/nobody\n    bogus: 1"
        )
    )
    code, doc = invoke("validate", "--json")
    assert code == 2 and doc["valid"] is False
    paths = {e["path"] for e in doc["errors"]}
    assert {"pipelines.people.source", "pipelines.people.target", "pipelines.people.bogus"} <= paths
    assert all(e["line"] for e in doc["errors"])


def test_run_json_shape_and_exit_codes(project: Path) -> None:
    code, run = invoke("run", "people", "--json")
    assert code == 0, run
    assert set(run) >= RUN_KEYS and COUNT_KEYS | {"read"} <= set(run["counts"])
    assert run["status"] == "ok" and run["trigger"] == "manual"
    assert run["counts"]["created"] == 2 and run["counts"]["quarantined"] == 1

    code, page = invoke("runs", "--json")
    assert code == 0 and page["total"] == 1 and set(page) == {"results", "total", "limit", "offset"}
    code, one = invoke("runs", "show", run["id"][:8], "--json")
    assert code == 0 and one["id"] == run["id"]
    assert {r["outcome"] for r in one["records"]["results"]} == {"created", "quarantined"}

    code, objs = invoke("objects", "crm/person", "--filter", "name=Ann A", "--json")
    assert code == 0 and objs["total"] == 1
    obj = objs["results"][0]
    assert obj["age"] == 41 and {
        "id",
        "register",
        "schema",
        "version",
        "created_at",
        "updated_at",
        "source",
    } <= set(obj["@self"])
    code, shown = invoke("objects", "show", obj["@self"]["id"], "--json")
    assert code == 0 and shown["name"] == "Ann A"


def test_run_unknown_pipeline_is_usage_error(project: Path) -> None:
    code, doc = invoke("run", "nope", "--json")
    assert code == 2 and "unknown pipeline" in doc["error"]["message"]


def test_run_failed_exits_1(project: Path) -> None:
    (project / "openconnector.yaml").write_text(
        CONFIG.replace("read: {dataset: cli-people}", "read: {dataset: cli-people, fail_after_batches: 0}")
    )
    code, run = invoke("run", "people", "--json")
    assert code == 1 and run["status"] == "failed" and run["errors"]


def test_dry_run_writes_nothing(project: Path) -> None:
    code, run = invoke("run", "people", "--dry-run", "--json")
    assert code == 0 and run["counts"]["created"] == 2
    assert invoke("objects", "crm/person", "--json")[1]["total"] == 0


def test_mapping_test_shape(project: Path) -> None:
    (project / "in.json").write_text(json.dumps({"first": "Ann", "last": "A", "age": "3"}))
    code, doc = invoke("mapping", "test", "person", "--input", "in.json", "--schema", "crm/person", "--json")
    assert code == 0 and doc == {"output": {"name": "Ann A", "age": 3}, "valid": True, "errors": []}
    (project / "bad.json").write_text(json.dumps({"first": "A", "last": "B", "age": "-3"}))
    code, doc = invoke("mapping", "test", "person", "--input", "bad.json", "--schema", "crm/person", "--json")
    assert code == 1 and doc["valid"] is False and doc["errors"][0]["path"] == "$.age"
    (project / "broken.json").write_text("{nope")
    code, doc = invoke("mapping", "test", "person", "--input", "broken.json", "--json")
    assert code == 2 and "neither JSON nor YAML" in doc["error"]["message"]


def test_objects_bad_target(project: Path) -> None:
    code, doc = invoke("objects", "crm", "--json")
    assert code == 2 and "REGISTER/SCHEMA" in doc["error"]["message"]


def test_run_starts_the_writer_process_ahead_and_leaves_no_child(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` starts the store's writer process as it begins, so it is ready for the first batch; a
    run that takes it ends it, a run that writes nothing stops it: no child outlives the command."""
    from openconnector import wire
    from openconnector.pipelines.ahead import WRITER_ENV, WRITER_MODULE
    from tests.connectors.rabbitmq.helpers import children

    spawned: list[str] = []
    spawn = wire.spawn

    def noted(module: str) -> Any:
        spawned.append(module)
        return spawn(module)

    monkeypatch.setattr(wire, "spawn", noted)
    code, run = invoke("run", "people", "--json")
    assert code == 0 and run["counts"]["created"] == 2, run
    assert spawned == [WRITER_MODULE] and not wire.ahead(WRITER_MODULE)
    assert children(os.getpid(), WRITER_MODULE) == []
    code, run = invoke("run", "people", "--json")  # nothing changed: nothing to write
    assert code == 0 and run["counts"]["unchanged"] == 2, run
    assert len(spawned) == 2 and children(os.getpid(), WRITER_MODULE) == []
    invoke("run", "people", "--dry-run", "--json")
    monkeypatch.setenv(WRITER_ENV, "thread")
    invoke("run", "people", "--json")
    assert len(spawned) == 2  # neither a dry run nor the thread mode starts one
