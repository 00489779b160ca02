"""Quarantine → fix → replay: records land through the normal path, the rest stay with the new error."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openconnector.audit import AuditTrail
from openconnector.config import load_project
from openconnector.pipelines import PipelineBusy, run_pipeline
from openconnector.pipelines.replay import replay_quarantine, replay_run, select_quarantined
from openconnector.registers import RunLog, Store
from openconnector.registers import tables as t
from tests.pipelines.memory import MemoryConnector

STRICT = {"type": "object", "required": ["name", "age"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}}  # fmt: skip


@pytest.fixture(autouse=True)
def audit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_KEY", "replay-test-key-0123456789")
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_ANCHOR", str(tmp_path / "anchor.jsonl"))


def project(tmp_path: Path, schema: dict[str, Any] = STRICT, batch_size: int = 3):  # type: ignore[no-untyped-def]
    (tmp_path / "person.json").write_text(json.dumps(schema))
    (tmp_path / "openconnector.yaml").write_text(
        textwrap.dedent(f"""
        registers:
          crm:
            schemas: {{person: person.json}}
        sources:
          mem: {{type: memory}}
        mappings:
          people:
            mapping:
              name: "{{{{ first }}}} {{{{ last }}}}"
              age: age
            cast: {{age: int}}
        pipelines:
          people:
            source: mem
            read: {{dataset: people, batch_size: {batch_size}}}
            mapping: people
            target: crm/person
        """)
    )
    p = load_project(tmp_path / "openconnector.yaml")
    return p


def relaxed() -> dict[str, Any]:
    return {**STRICT, "properties": {**STRICT["properties"], "age": {"type": "integer"}}}


def people(ages: list[int]) -> list[dict[str, Any]]:
    return [{"id": i, "first": f"F{i}", "last": "L", "age": str(a)} for i, a in enumerate(ages)]


def load(p, store: Store) -> Any:  # type: ignore[no-untyped-def]
    store.sync_registers({"crm": None}, p.schemas)
    return asyncio.run(run_pipeline(p, store, "people"))


def quarantine_rows(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(t.quarantine).order_by(t.quarantine.c.origin_id)).all())


def test_fixed_schema_replay_lands_records_and_leaves_the_rest_with_their_new_error(
    tmp_path: Path, store: Store
) -> None:
    MemoryConnector.DATA["people"] = people([30, -5, -6, 40, -1000])
    first = load(project(tmp_path), store)
    assert first.counts["created"] == 2 and first.counts["quarantined"] == 3

    # The fix: negative ages are allowed now, but not below -100.
    fixed = {**STRICT, "properties": {**STRICT["properties"], "age": {"type": "integer", "minimum": -100}}}
    p = project(tmp_path, fixed)
    store.sync_registers({"crm": None}, p.schemas)
    preview = replay_quarantine(p, store, pipeline="people", dry_run=True)
    assert (preview.selected, preview.resolved, preview.still_quarantined) == (3, 2, 1)
    assert {r["origin_id"]: r["outcome"] for r in preview.records} == {
        "1": "created",
        "2": "created",
        "4": "quarantined",
    }
    assert (
        store.count_objects("crm", "person") == 2 and len(select_quarantined(store)) == 3
    )  # nothing written

    result = replay_quarantine(p, store, pipeline="people")
    assert (result.selected, result.resolved, result.still_quarantined) == (3, 2, 1)
    run = result.runs[0]
    assert run["trigger"] == "replay" and run["status"] == "ok"
    assert run["counts"]["created"] == 2 and run["counts"]["quarantined"] == 1
    assert RunLog(store.engine).get(run["id"])["trigger"] == "replay"
    assert store.count_objects("crm", "person") == 4
    rows = {r.origin_id: r for r in quarantine_rows(store)}
    assert len(rows) == 3  # no second quarantine row for the record that failed again
    assert rows["1"].status == rows["2"].status == "resolved" and rows["1"].resolved_run_id == run["id"]
    still = rows["4"]
    assert still.status == "open" and still.resolved_run_id is None and still.run_id == first.id
    assert "-100" in json.dumps(json.loads(still.errors) if isinstance(still.errors, str) else still.errors)

    trail = AuditTrail.for_engine(store.engine)
    landed = store.list_objects("crm", "person", filters={"name": "F1 L"}).results[0]
    entry = trail.history(None, landed["@self"]["id"])[0]
    assert (entry["action"], entry["actor"], entry["run_id"]) == ("create", "replay", run["id"])
    assert trail.verify().ok


def test_replay_of_a_run_only_takes_that_runs_records(tmp_path: Path, store: Store) -> None:
    p = project(tmp_path)
    MemoryConnector.DATA["people"] = people([-1, 5])
    first = load(p, store)
    MemoryConnector.DATA["people"] = people([-1, 5, -3])
    second = load(p, store)
    assert first.counts["quarantined"] == 1 and second.counts["quarantined"] == 2
    p = project(tmp_path, relaxed())
    store.sync_registers({"crm": None}, p.schemas)
    result = replay_run(p, store, first.id[:13])  # a unique prefix works, as in `runs show`
    assert result.selected == 1 and result.resolved == 1
    assert sorted(r.run_id for r in select_quarantined(store)) == [second.id, second.id]
    assert replay_run(p, store, first.id).selected == 0  # nothing open is left in that run


def test_error_filter_and_records_without_a_payload(tmp_path: Path, store: Store) -> None:
    p = project(tmp_path)
    MemoryConnector.DATA["people"] = [*people([-1, 5]), "not a record", {"first": "no id", "age": "3"}]
    first = load(p, store)
    assert first.counts["quarantined"] == 3
    p = project(tmp_path, relaxed())
    store.sync_registers({"crm": None}, p.schemas)
    only = replay_quarantine(p, store, error="MINIMUM")
    assert only.selected == 1 and only.resolved == 1
    rest = replay_quarantine(p, store)
    assert rest.selected == 2 and rest.replayed == 1 and rest.still_quarantined == 1
    assert [s["reason"] for s in rest.skipped] == [
        "the read error kept no record to replay ($: record is not an object but str); fix it at the source"
    ]


def test_replay_while_the_pipeline_runs_is_refused(tmp_path: Path, store: Store) -> None:
    p = project(tmp_path)
    MemoryConnector.DATA["people"] = people([-1])
    load(p, store)
    RunLog(store.engine).acquire("people", "someone-elses-run")
    p = project(tmp_path, relaxed())
    store.sync_registers({"crm": None}, p.schemas)
    with pytest.raises(PipelineBusy, match="already running"):
        replay_quarantine(p, store, pipeline="people")
    assert len(select_quarantined(store)) == 1 and store.count_objects("crm", "person") == 0
    RunLog(store.engine).release("people", "someone-elses-run")
    assert replay_quarantine(p, store, pipeline="people").resolved == 1


def test_replay_of_a_record_whose_object_changed_since_goes_through_change_detection(
    tmp_path: Path, store: Store
) -> None:
    p = project(tmp_path)
    MemoryConnector.DATA["people"] = people([30])
    load(p, store)
    object_id = store.list_objects("crm", "person").results[0]["@self"]["id"]
    MemoryConnector.DATA["people"] = people([-30])  # the source sends a bad update: quarantined
    assert load(p, store).counts["quarantined"] == 1
    store.save_object("crm", "person", {"name": "F0 L", "age": 31}, object_id=object_id, actor="api:clerk")

    p = project(tmp_path, relaxed())
    store.sync_registers({"crm": None}, p.schemas)
    result = replay_quarantine(p, store)
    assert result.runs[0]["counts"]["updated"] == 1 and result.resolved == 1
    obj = store.get_object(object_id)
    assert obj["age"] == -30 and obj["@self"]["version"] == 3
    trail = AuditTrail.for_engine(store.engine)
    newest, api_edit = trail.history(None, object_id)[:2]
    assert (newest["action"], newest["actor"], newest["version_before"], newest["version_after"]) == (
        "update", "replay", 2, 3,
    )  # fmt: skip
    assert newest["changes"] == [{"path": "$.age", "old": 31, "new": -30}]
    assert api_edit["actor"] == "api:clerk"
    # replaying the same record again changes nothing: it is no longer in quarantine
    assert replay_quarantine(p, store).selected == 0
    assert trail.verify().ok
