"""The engine writes an audit entry per change, in the batch's transaction; unchanged data writes none."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

from openconnector.audit import AuditTrail
from openconnector.config import load_project
from openconnector.pipelines import run_pipeline
from openconnector.registers import Store
from tests.pipelines.memory import MemoryConnector

SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
}


def setup(tmp_path: Path, store: Store):  # type: ignore[no-untyped-def]
    (tmp_path / "person.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "openconnector.yaml").write_text(
        textwrap.dedent("""
        registers:
          crm:
            schemas: {person: person.json}
        sources:
          crm-api: {type: memory}
        mappings:
          people:
            mapping:
              name: "{{ first }} {{ last }}"
              age: age
              city: address.city
            cast: {age: int}
        pipelines:
          people:
            source: crm-api
            read: {dataset: audited, batch_size: 4}
            mapping: people
            target: crm/person
            on_missing: delete
        """)
    )
    project = load_project(tmp_path / "openconnector.yaml")
    store.sync_registers({"crm": None}, project.schemas)
    return project


def records(n: int, **over: Any) -> list[dict[str, Any]]:
    return [
        {"id": i, "first": f"F{i}", "last": "L", "age": str(20 + i), "address": {"city": "Utrecht"}, **over}
        for i in range(n)
    ]


def run(project, store, **kw: Any):  # type: ignore[no-untyped-def]
    return asyncio.run(run_pipeline(project, store, "people", **kw))


def test_pipeline_changes_are_audited_and_reruns_write_nothing(tmp_path: Path, store: Store) -> None:
    project = setup(tmp_path, store)
    trail = AuditTrail.for_engine(store.engine)
    MemoryConnector.DATA["audited"] = records(10)
    first = run(project, store)
    assert first.counts["created"] == 10
    check = trail.verify()
    assert check.ok and check.checked == 10 and check.checkpoints == 3  # batches of 4, 4, 2

    oid = store.list_objects("crm", "person", filters={"name": "F3 L"}).results[0]["@self"]["id"]
    created = trail.history(None, oid)[0]
    assert created["action"] == "create" and created["actor"] == "pipeline:people"
    assert (created["run_id"], created["pipeline"], created["source"], created["origin_id"]) == (
        first.id, "people", "crm-api", "3",
    )  # fmt: skip
    assert created["mapping"] == "people" and created["mapping_version"]
    assert created["changes"] == [{"path": "$", "new": {"name": "F3 L", "age": 23, "city": "Utrecht"}}]

    assert run(project, store).counts["unchanged"] == 10
    assert run(project, store, dry_run=True).counts["unchanged"] == 10
    assert trail.verify().checked == 10  # idempotent: no entries for unchanged records

    data = records(10)
    data[3]["address"] = {"city": "Zwolle"}
    data[4]["irrelevant"] = "x"  # the source changed, the mapped object did not: no entry
    del data[5]
    MemoryConnector.DATA["audited"] = data
    third = run(project, store)
    assert third.counts["updated"] == 1 and third.counts["deleted"] == 1
    updated = trail.history(None, oid)[0]
    assert (updated["action"], updated["version_before"], updated["version_after"], updated["run_id"]) == (
        "update", 1, 2, third.id,
    )  # fmt: skip
    assert updated["changes"] == [{"path": "$.city", "old": "Utrecht", "new": "Zwolle"}]
    gone = store.list_objects("crm", "person", filters={"name": "F5 L"}, include_deleted=True).results[0]
    deleted = trail.history(None, gone["@self"]["id"])[0]
    assert (deleted["action"], deleted["origin_id"], deleted["version_before"], deleted["version_after"]) == (
        "delete", "5", 1, 2,
    )  # fmt: skip
    assert deleted["changes"] == [{"path": "$", "old": {"name": "F5 L", "age": 25, "city": "Utrecht"}}]

    MemoryConnector.DATA["audited"] = records(10)  # record 5 is back
    assert run(project, store).counts["updated"] == 2
    restored = trail.history(None, gone["@self"]["id"])[0]
    assert (restored["action"], restored["version_before"], restored["version_after"]) == ("restore", 2, 3)
    assert restored["changes"] == []  # the same document as when it was deleted
    result = trail.verify()
    assert result.ok and result.checked == 10 + 2 + 2, result.as_dict()


def test_duplicates_in_one_batch_are_chained_in_order(tmp_path: Path, store: Store) -> None:
    project = setup(tmp_path, store)
    data = records(3)
    data.append({**data[1], "age": "99"})  # the same origin id again, later in the same batch
    MemoryConnector.DATA["audited"] = data
    result = run(project, store)
    assert result.counts["created"] == 3 and result.counts["updated"] == 1
    trail = AuditTrail.for_engine(store.engine)
    oid = store.list_objects("crm", "person", filters={"name": "F1 L"}).results[0]["@self"]["id"]
    newest, first = trail.history(None, oid)
    assert (first["action"], newest["action"], newest["version_before"], newest["version_after"]) == (
        "create", "update", 1, 2,
    )  # fmt: skip
    assert newest["changes"] == [{"path": "$.age", "old": 21, "new": 99}]
    assert store.get_object(oid)["@self"]["version"] == 2
    assert trail.verify().ok
