"""The pull pipeline's rules: accounting, change detection, quarantine, deletes, cursors, dry runs."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openconnector.audit import AuditTrail
from openconnector.config import load_project
from openconnector.pipelines import PipelineBusy, run_pipeline
from openconnector.registers import RunLog, Store
from tests.pipelines.memory import MemoryConnector

SCHEMA = """
{"type": "object", "required": ["name", "age"],
 "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
                "city": {"type": "string"}}}
"""


def make_project(
    tmp_path: Path, *, read_extra: str = "", pipeline_extra: str = "", mapping: str | None = None
):
    (tmp_path / "person.json").write_text(SCHEMA)
    mapping = (
        mapping
        or """
    mapping:
      name: "{{ first }} {{ last }}"
      age: age
      city: address.city
    cast: {age: int}
"""
    )
    cfg = textwrap.dedent(f"""
    registers:
      crm:
        schemas: {{person: person.json}}
    sources:
      mem: {{type: memory}}
    mappings:
      people:
{textwrap.indent(textwrap.dedent(mapping), "        ")}
    pipelines:
      people:
        source: mem
        read:
          dataset: people
          batch_size: 3
{textwrap.indent(textwrap.dedent(read_extra), "          ")}
        mapping: people
        target: crm/person
{textwrap.indent(textwrap.dedent(pipeline_extra), "        ")}
    """)
    (tmp_path / "openconnector.yaml").write_text(cfg)
    return load_project(tmp_path / "openconnector.yaml")


def people(n: int, **over: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "first": f"F{i}",
            "last": f"L{i}",
            "age": str(20 + i),
            "address": {"city": "Utrecht"},
            **over,
        }
        for i in range(n)
    ]


def prepare(store: Store, project) -> None:  # type: ignore[no-untyped-def]
    store.sync_registers({"crm": None}, project.schemas)


def run(project, store, **kw: Any):  # type: ignore[no-untyped-def]
    return asyncio.run(run_pipeline(project, store, "people", **kw))


def balanced(counts: dict[str, int]) -> bool:
    return counts["read"] == sum(
        counts[k] for k in ("created", "updated", "unchanged", "filtered", "quarantined", "failed")
    )


def test_first_load_then_unchanged_then_changed(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(10)
    r1 = run(project, store)
    assert r1.status == "ok", r1.errors
    assert r1.counts["created"] == 10 and balanced(r1.counts)
    page = store.list_objects("crm", "person", limit=100)
    assert page.total == 10
    doc = next(d for d in page.results if d["name"] == "F3 L3")
    assert doc["age"] == 23 and doc["city"] == "Utrecht"
    assert doc["@self"]["source"] == {"pipeline": "people", "origin_id": "3"}

    r2 = run(project, store)
    assert r2.counts["unchanged"] == 10 and r2.counts["created"] == 0 and balanced(r2.counts)
    assert store.get_object(doc["@self"]["id"])["@self"]["version"] == 1

    data = people(10)
    data[3]["age"] = "50"
    data[4]["irrelevant"] = "x"  # source changed, mapped output did not
    MemoryConnector.DATA["people"] = data
    r3 = run(project, store)
    assert r3.counts["updated"] == 1 and r3.counts["unchanged"] == 9, r3.counts
    after = store.get_object(doc["@self"]["id"])
    assert after["age"] == 50 and after["@self"]["version"] == 2
    history = store.object_history(doc["@self"]["id"])
    assert [h["version"] for h in history] == [2, 1] and history[1]["data"]["age"] == 23


def test_invalid_and_unmappable_records_are_quarantined_rest_lands(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(6)
    data[1]["age"] = "-4"  # fails the schema (minimum 0)
    data[2]["age"] = "not a number"  # cast fails
    del data[3]["id"]  # no origin id
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok"
    assert r.counts["created"] == 3 and r.counts["quarantined"] == 3 and balanced(r.counts)
    q = RunLog(store.engine).quarantined(pipeline="people")
    assert q.total == 3
    stages = sorted(item["stage"] for item in q.results)
    assert stages == ["mapping", "read", "validation"]
    invalid = next(item for item in q.results if item["stage"] == "validation")
    assert invalid["raw"]["age"] == "-4"  # raw payload kept
    assert invalid["errors"][0]["path"] == "$.age"
    assert invalid["mapping"] == "people" and invalid["mapping_version"]


def test_every_validation_error_is_reported(tmp_path: Path, store: Store) -> None:
    project = make_project(
        tmp_path,
        mapping="""
    mapping:
      age: age
      city: nope
      extra: first
    """,
    )
    prepare(store, project)
    MemoryConnector.DATA["people"] = [{"id": 1, "first": "x", "age": "old"}]
    r = run(project, store)
    assert r.counts["quarantined"] == 1
    errors = RunLog(store.engine).quarantined().results[0]["errors"]
    assert {e["path"] for e in errors} >= {"$", "$.age"}  # required name missing AND age not an integer


def test_partial_read_deletes_nothing_and_keeps_cursor(tmp_path: Path, store: Store) -> None:
    prepare(store, make_project(tmp_path, pipeline_extra="on_missing: delete\n"))
    MemoryConnector.DATA["people"] = people(9)
    assert run(make_project(tmp_path, pipeline_extra="on_missing: delete\n"), store).counts["created"] == 9
    MemoryConnector.DATA["people"] = people(5)  # would delete 4 if the failed read were trusted
    project = make_project(
        tmp_path, read_extra="fail_after_batches: 1\n", pipeline_extra="on_missing: delete\n"
    )
    r = run(project, store)  # fails on page 2 after page 1
    assert r.status == "partial"
    assert "page 2" in r.errors[0]["message"] or r.errors[0].get("where") == "page 2"
    assert r.counts["deleted"] == 0 and store.count_objects("crm", "person") == 9


def test_failed_first_page_is_failed_run(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path, read_extra="fail_after_batches: 0\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(3)
    r = run(project, store)
    assert r.status == "failed" and r.counts["read"] == 0
    assert RunLog(store.engine).get(r.id)["status"] == "failed"


def test_an_interrupted_run_is_recorded_as_such(tmp_path: Path, store: Store) -> None:
    """Ctrl-C (or a cancelled task) mid-read: the run is not left 'running'; what landed stays."""
    extra = "on_missing: delete\n"
    project = make_project(tmp_path, read_extra="interrupt_after_batches: 1\n", pipeline_extra=extra)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(9)
    with pytest.raises(KeyboardInterrupt):
        run(project, store)
    [stored] = RunLog(store.engine).list(pipeline="people").results
    assert stored["status"] == "partial" and stored["finished_at"] is not None
    assert stored["errors"] == [{"message": "the run was interrupted (KeyboardInterrupt)"}]
    assert stored["counts"]["created"] == 3 and store.count_objects("crm", "person") == 3
    assert RunLog(store.engine).running("people") is None  # the lock is released
    assert run(make_project(tmp_path, pipeline_extra=extra), store).status == "ok"


def test_an_unchanged_rerun_logs_each_record_with_its_object_in_order(tmp_path: Path, store: Store) -> None:
    """The records the store finds unchanged skip the record loop and are logged in one pass: the
    run log must still hold each record, in record order, with its object id, between the others."""
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(7)
    MemoryConnector.DATA["people"] = data
    first = run(project, store)
    ids = {e["origin_id"]: e["object_id"] for e in RunLog(store.engine).records(first.id, limit=50).results}
    MemoryConnector.DATA["people"] = list(reversed(data))
    again = run(project, store)
    assert again.counts["unchanged"] == 7 and balanced(again.counts), again.counts
    logged = RunLog(store.engine).records(again.id, limit=50).results
    assert [e["origin_id"] for e in logged] == [str(p["id"]) for p in reversed(data)]
    assert {e["outcome"] for e in logged} == {"unchanged"}
    assert all(e["object_id"] == ids[e["origin_id"]] for e in logged)
    MemoryConnector.DATA["people"] = [data[0], data[1], data[0], *data[2:]]  # an id twice: the loop
    third = run(project, store)
    assert third.counts["unchanged"] == 8 and third.counts["read"] == 8
    mixed = [dict(p) for p in data]
    mixed[1]["age"] = "61"  # updated
    mixed[4]["age"] = "-3"  # fails the schema: quarantined
    mixed.insert(5, {"id": 70, "first": "N", "last": "ew", "age": "5"})  # created
    MemoryConnector.DATA["people"] = mixed
    fourth = run(project, store)
    logged = RunLog(store.engine).records(fourth.id, limit=50).results
    assert [(e["origin_id"], e["outcome"]) for e in logged] == [
        ("0", "unchanged"), ("1", "updated"), ("2", "unchanged"), ("3", "unchanged"),
        ("4", "quarantined"), ("70", "created"), ("5", "unchanged"), ("6", "unchanged"),
    ]  # fmt: skip
    assert all(e["object_id"] == ids[e["origin_id"]] for e in logged if e["outcome"] == "unchanged")


def test_delete_after_complete_read_only(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path, pipeline_extra="on_missing: delete\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(5)
    run(project, store)
    MemoryConnector.DATA["people"] = people(5)[:3]
    r = run(project, store)
    assert r.status == "ok" and r.counts["deleted"] == 2
    assert store.count_objects("crm", "person") == 3
    # The deleted record comes back: restored as a new version, history kept.
    MemoryConnector.DATA["people"] = people(5)
    r = run(project, store)
    assert r.counts["updated"] == 2 and store.count_objects("crm", "person") == 5


def test_max_pages_cut_is_partial_and_never_deletes(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path, read_extra="stop_early: true\n", pipeline_extra="on_missing: delete\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(4)
    run(project, store)
    MemoryConnector.DATA["people"] = people(2)
    r = run(project, store)
    assert r.status == "partial" and r.counts["deleted"] == 0
    assert any("max_pages" in w for w in r.warnings)
    assert store.count_objects("crm", "person") == 4


def test_empty_read_after_records_is_a_warning_not_a_wipe(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path, pipeline_extra="on_missing: delete\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(4)
    run(project, store)
    MemoryConnector.DATA["people"] = []
    r = run(project, store)
    assert r.status == "partial" and r.counts["deleted"] == 0 and r.warnings
    assert store.count_objects("crm", "person") == 4


def test_duplicate_ids_within_one_read(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(4)
    dup = dict(data[1], age="99")
    MemoryConnector.DATA["people"] = [*data, dup, dict(data[0])]  # dup of 1 in another batch, 0 identical
    r = run(project, store)
    assert balanced(r.counts) and r.counts["read"] == 6
    assert store.count_objects("crm", "person") == 4
    assert any("duplicate" in w for w in r.warnings)
    ages = {d["name"]: d["age"] for d in store.list_objects("crm", "person").results}
    assert ages["F1 L1"] == 99  # the later record was applied, and version 1 is kept in history


def test_a_rerun_batch_holding_a_record_twice_is_judged_in_order(tmp_path: Path, store: Store) -> None:
    """The store says which records are unchanged (BatchWriter.lookup); a batch that also changes
    one of them must still apply its records in order, the later one last."""
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(3)
    MemoryConnector.DATA["people"] = data
    run(project, store)
    first = data[0]
    # one batch (batch_size 3): the same unchanged record twice, then another unchanged one
    MemoryConnector.DATA["people"] = [dict(first), dict(first), dict(data[1])]
    r = run(project, store)
    assert r.counts["unchanged"] == 3 and r.counts["updated"] == r.counts["created"] == 0
    assert any("duplicate" in w for w in r.warnings)
    # a changed version, then the stored one twice: updated, updated back, then unchanged
    MemoryConnector.DATA["people"] = [dict(first, age="99"), dict(first), dict(first)]
    r = run(project, store)
    assert (r.counts["updated"], r.counts["unchanged"], r.counts["created"]) == (2, 1, 0)
    assert store.count_objects("crm", "person") == 3
    doc = next(d for d in store.list_objects("crm", "person").results if d["name"] == "F0 L0")
    assert doc["age"] == 20
    history = store.object_history(doc["@self"]["id"])
    assert [h["data"]["age"] for h in history] == [20, 99, 20]


def test_source_hashes_from_another_hash_function_cost_one_remap_and_no_versions(
    tmp_path: Path, store: Store
) -> None:
    """A register filled when source hashes were made another way (before XXH3): every record's
    source looks changed once; mapped again it gives the same document, so nothing is written but
    the new hashes, and the run after finds everything unchanged."""
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(5)
    run(project, store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE contracts SET source_hash = 'ffffffffffffffffffffffffffffffff'")
    trail = AuditTrail.for_engine(store.engine)
    entries = trail.verify().checked
    r = run(project, store)
    assert r.counts["unchanged"] == 5 and r.counts["updated"] == 0, r.counts
    assert {d["@self"]["version"] for d in store.list_objects("crm", "person").results} == {1}
    assert trail.verify().checked == entries  # no audit entry: no document changed
    with store.engine.connect() as conn:
        hashes = {row[0] for row in conn.exec_driver_sql("SELECT source_hash FROM contracts")}
    assert "ffffffffffffffffffffffffffffffff" not in hashes and len(hashes) == 5
    assert run(project, store).counts["unchanged"] == 5


def test_target_hashes_written_before_xxh3_still_tell_an_unchanged_document(
    tmp_path: Path, store: Store
) -> None:
    """Contracts written when target hashes were BLAKE2b: a record mapped again (its source
    changed, here in a field the mapping ignores) that gives the same document is unchanged, with
    no new version and no audit entry, and its contract takes the new hash."""
    from openconnector.jsonutil import canonical, canonical_hash, document_hash

    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(5)
    run(project, store)
    docs = {d["@self"]["id"]: d for d in store.list_objects("crm", "person").results}
    bodies = {oid: {k: v for k, v in d.items() if k != "@self"} for oid, d in docs.items()}
    with store.engine.begin() as conn:
        for oid, body in bodies.items():
            conn.execute(
                sa.text(
                    "UPDATE contracts SET target_hash = :h, "
                    "source_hash = 'ffffffffffffffffffffffffffffffff' WHERE object_id = :oid"
                ),
                {"h": canonical_hash(canonical(body)), "oid": oid},
            )
    trail = AuditTrail.for_engine(store.engine)
    entries = trail.verify().checked
    r = run(project, store)
    assert r.counts["unchanged"] == 5 and r.counts["updated"] == 0, r.counts
    assert {d["@self"]["version"] for d in store.list_objects("crm", "person").results} == {1}
    assert trail.verify().checked == entries
    with store.engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT object_id, target_hash FROM contracts").fetchall())
    assert stored == {oid: document_hash(canonical(body)) for oid, body in bodies.items()}


def test_dry_run_writes_nothing(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(5)
    r = run(project, store, dry_run=True)
    assert r.counts["created"] == 5 and r.dry_run
    assert store.count_objects("crm", "person") == 0
    assert RunLog(store.engine).list().total == 0


def test_full_reprocesses_and_incremental_cursor_advances(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path, read_extra="incremental: {cursor: updated}\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = [dict(p, updated=f"2026-01-0{p['id'] + 1}") for p in people(3)]
    MemoryConnector.SEEN_CURSORS.clear()
    run(project, store)
    run(project, store)
    r = run(project, store, full=True)
    assert MemoryConnector.SEEN_CURSORS == [None, "2026-01-03", None]
    assert r.counts["unchanged"] == 3  # --full re-maps; output identical so nothing changes


def test_filter_counts_filtered(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path, pipeline_extra='filter: "id % 2 == 0"\n')
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(6)
    r = run(project, store)
    assert r.counts["filtered"] == 3 and r.counts["created"] == 3 and balanced(r.counts)


def test_one_run_per_pipeline(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    runlog = RunLog(store.engine)
    runlog.acquire("people", "other-run")
    MemoryConnector.DATA["people"] = people(2)
    with pytest.raises(PipelineBusy, match="already running"):
        run(project, store)
    runlog.release("people", "other-run")
    assert run(project, store).status == "ok"


def test_mapping_change_reprocesses_unchanged_source(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(3)
    run(project, store)
    changed = make_project(
        tmp_path,
        mapping="""
    mapping:
      name: "{{ last }}, {{ first }}"
      age: age
    cast: {age: int}
    """,
    )
    r = run(changed, store)
    assert r.counts["updated"] == 3
    assert {d["name"] for d in store.list_objects("crm", "person").results} == {"L0, F0", "L1, F1", "L2, F2"}


def test_incremental_read_never_deletes_what_it_did_not_reread(tmp_path: Path, store: Store) -> None:
    project = make_project(
        tmp_path, read_extra="incremental: {cursor: updated}\n", pipeline_extra="on_missing: delete\n"
    )
    prepare(store, project)
    MemoryConnector.DATA["people"] = [dict(p, updated=f"2026-01-0{p['id'] + 1}") for p in people(5)]
    assert run(project, store).counts["created"] == 5
    # The source now returns only what changed since the cursor: one record.
    MemoryConnector.DATA["people"] = [dict(people(5)[4], updated="2026-02-01", age="60")]
    r = run(project, store)
    assert r.counts["updated"] == 1 and r.counts["deleted"] == 0
    assert store.count_objects("crm", "person") == 5
    assert any("full reads only" in w for w in r.warnings)
    # A --full run reads everything, so absence means deleted again.
    MemoryConnector.DATA["people"] = [dict(p, updated="2026-03-01") for p in people(5)[:4]]
    r = run(project, store, full=True)
    assert r.counts["deleted"] == 1 and store.count_objects("crm", "person") == 4


def test_a_record_quarantined_on_a_full_read_is_not_missing(tmp_path: Path, store: Store) -> None:
    """The source still has it: a record that fails mapping or validation, or a filter, this time
    keeps its object (the last good version) instead of being deleted as missing."""
    project = make_project(tmp_path, pipeline_extra="on_missing: delete\n")
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(5)
    run(project, store)
    data = people(5)
    data[1]["age"] = "-4"  # fails the schema (minimum 0)
    data[3]["age"] = "not a number"  # fails the mapping's cast
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and r.counts["quarantined"] == 2 and r.counts["unchanged"] == 3
    assert r.counts["deleted"] == 0 and store.count_objects("crm", "person") == 5


def _contract_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM contracts ORDER BY origin_id")]


def test_an_unchanged_rerun_changes_no_contract_unless_it_may_delete(tmp_path: Path, store: Store) -> None:
    """Hard rule 7: the same data twice changes nothing. Only a run that may delete marks what it
    saw (``last_run_id``), since that is how it finds what is missing."""
    project = make_project(tmp_path)
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(7)
    first = run(project, store)
    before = _contract_rows(store)
    r = run(project, store)
    assert r.counts["unchanged"] == 7 and _contract_rows(store) == before

    deleting = make_project(tmp_path, pipeline_extra="on_missing: delete\n")
    r = run(deleting, store)
    assert r.counts["unchanged"] == 7
    with store.engine.connect() as conn:
        seen = {row[0] for row in conn.exec_driver_sql("SELECT DISTINCT last_run_id FROM contracts")}
    assert seen == {r.id} and first.id != r.id


def test_a_record_the_store_refuses_is_quarantined_and_the_rest_lands(tmp_path: Path, store: Store) -> None:
    """PostgreSQL holds no NUL character: that one record is set aside (stage ``write``, counted
    failed), every other record of its batch and of later batches lands, and the next run goes
    past it again instead of stopping there for good. SQLite stores the character."""
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(8)
    data[4]["last"] = "bad\x00name"
    MemoryConnector.DATA["people"] = data
    for _ in range(2):
        r = run(project, store)
        assert balanced(r.counts) and r.counts["read"] == 8
        if store.dialect == "postgresql":
            assert r.status == "ok" and r.counts["failed"] == 1 and r.counts["created"] in (7, 0)
        else:
            assert r.counts["failed"] == 0
    if store.dialect == "sqlite":
        assert store.count_objects("crm", "person") == 8
        return
    assert store.count_objects("crm", "person") == 7
    q = RunLog(store.engine).quarantined(pipeline="people").results
    assert len(q) == 2 and {e["stage"] for e in q} == {"write"}
    entry = q[0]
    assert entry["origin_id"] == "4" and entry["raw"]["last"] == "bad\\u0000name"
    messages = " ".join(e["message"] for e in entry["errors"])
    assert "the store refused this record" in messages and "NUL" in messages
    assert "INSERT" not in messages  # the database's words, not the statement with other records
    failed = RunLog(store.engine).records(r.id, outcome="failed").results
    assert [e["origin_id"] for e in failed] == ["4"]


def test_several_refused_records_in_one_batch_and_across_batches(tmp_path: Path, store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores NUL characters")
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(20)
    for i in (0, 1, 2, 7, 19):  # a whole first batch, one in the middle, the last record
        data[i]["first"] = f"x\x00{i}"
    data[11]["address"] = {"city": "x", "k\x00": 1}  # in a field the mapping drops: it lands
    data[13]["id"] = "13\x00"  # in the origin id: the contract lookup itself is refused
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and balanced(r.counts), r.errors
    assert r.counts["failed"] == 6 and r.counts["created"] == 14
    names = {d["name"] for d in store.list_objects("crm", "person", limit=100).results}
    assert names == {f"F{i} L{i}" for i in range(20) if i not in (0, 1, 2, 7, 13, 19)}
    failed = RunLog(store.engine).records(r.id, outcome="failed").results
    assert sorted(e["origin_id"] for e in failed) == sorted(["0", "1", "2", "7", "13\\u0000", "19"])
    # the halves that failed left nothing behind in the audit chain: it verifies, one entry per object
    result = AuditTrail.for_engine(store.engine).verify()
    assert result.ok and result.checked == 14, result.problems


def test_a_record_that_is_not_even_json_is_kept_as_text(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(4)
    data[2]["big"] = 2**70  # a Python source can hand over what JSON encoders refuse
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and r.counts["failed"] == 1 and r.counts["created"] == 3 and balanced(r.counts)
    q = RunLog(store.engine).quarantined(pipeline="people").results[0]
    assert q["stage"] == "write" and str(2**70) in q["raw"]
    assert any("kept as text" in e["message"] for e in q["errors"])
    assert not any("NUL" in e["message"] for e in q["errors"])  # it has none


def test_a_refused_record_that_also_fails_the_schema_keeps_its_schema_errors(
    tmp_path: Path, store: Store
) -> None:
    project = make_project(tmp_path)
    prepare(store, project)
    data = people(4)
    data[2]["age"] = "-1"  # fails the schema ...
    data[2]["last"] = "L\x002"  # ... and, on PostgreSQL, cannot even be kept as it is
    MemoryConnector.DATA["people"] = data
    r = run(project, store)
    assert r.status == "ok" and balanced(r.counts)
    assert r.counts["quarantined"] == 1 and r.counts["failed"] == 0 and r.counts["created"] == 3
    q = RunLog(store.engine).quarantined(pipeline="people").results[0]
    assert q["stage"] == "validation" and any("age" in (e.get("path") or "") for e in q["errors"])
    if store.dialect == "postgresql":
        assert q["raw"]["last"] == "L\\u00002"
        assert any("the store refused this record" in e["message"] for e in q["errors"])


def test_an_object_changed_twice_in_one_batch_keeps_every_version(tmp_path: Path, store: Store) -> None:
    project = make_project(tmp_path)  # batches of 3
    prepare(store, project)
    MemoryConnector.DATA["people"] = people(2)
    run(project, store)
    # the first batch holds record 0 three times: as stored, then changed twice
    p0 = people(1)[0]
    MemoryConnector.DATA["people"] = [p0, dict(p0, age="31"), dict(p0, age="32"), people(2)[1]]
    r = run(project, store)
    assert r.counts["updated"] == 2 and balanced(r.counts)
    (obj,) = [o for o in store.list_objects("crm", "person").results if o["name"] == "F0 L0"]
    history = store.object_history(obj["@self"]["id"])
    assert [(v["version"], v["data"]["age"]) for v in history] == [(3, 32), (2, 31), (1, 20)]
    assert AuditTrail.for_engine(store.engine).verify().ok
