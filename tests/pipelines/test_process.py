"""process_batch on its own: what a batch's outcome keeps alive until it is written."""

from __future__ import annotations

import tracemalloc

from openconnector.connectors.base import Batch
from openconnector.jsonutil import MISSING, canonical
from openconnector.pipelines.process import IdResolver, RunPlan, batch_max, identity, process_batch
from openconnector.registers.validation import CompiledSchema


def _plan() -> RunPlan:
    return RunPlan(
        pipeline="people",
        run_id="run-1",
        register="crm",
        schema_name="person",
        schema=CompiledSchema({"type": "object", "required": ["name"]}),
        mapping_name=None,
        mapping_version=None,
        apply=identity,
        keep=None,
        origin_id=IdResolver("id"),
        cursor_path=None,
        full=False,
        actor="pipeline:people",
    )


def test_created_records_carry_their_canonical_bytes_for_the_audit_trail() -> None:
    records = [{"id": i, "name": f"person {i}", "tags": ["a", "b"]} for i in range(1_000)]
    plan = _plan()
    tracemalloc.start()
    try:
        out = process_batch(plan, Batch(records), {}, set())
        canons = [entry[4] for entry in out.audit]
        assert out.counts["created"] == 1_000
        assert canons[7] == canonical(records[7])
        del out
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # orjson reserves 4 KB per result: kept as it comes, 1,000 creates would hold 4 MB here.
    assert held < 1_500_000, f"{held / 1_000:.0f} bytes kept per created record"


def test_a_duplicate_of_a_record_created_in_the_same_batch_updates_that_object() -> None:
    records = [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "b"},
        {"id": 1, "name": "a2"},
        {"id": 1, "name": "a2"},
    ]
    out = process_batch(_plan(), Batch(records), {}, set())
    c, w = out.counts, out.write
    assert (c["created"], c["updated"], c["unchanged"], out.duplicates) == (2, 1, 1, 2)
    first_id = w.object_inserts[0][0]
    assert [row[-1] for row in w.object_updates] == [first_id]  # the object created above, not a new one
    assert [row[0] for row in w.contract_updates] == ["1"]  # the identical 4th: unchanged by its hash
    assert w.created is not None and w.created.register == "crm" and w.created.actor == "pipeline:people"


def test_origins_and_hashes_a_connector_hands_along_are_used() -> None:
    """A connector that converts in another process gives each record's id and source hash; the
    engine takes them as they are (here deliberately not the record's own, to see that it does)."""
    from openconnector.ids import source_hash
    from openconnector.pipelines.process import batch_origins

    records = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    plan = _plan()
    given = Batch(records, origins=["x1", "x2"], hashes=["h1", "h2"])
    assert batch_origins(plan, given) == ["x1", "x2"]
    out = process_batch(plan, given, {}, set(), batch_origins(plan, given))
    assert [(row[0], row[2]) for row in out.write.contract_inserts] == [("x1", "h1"), ("x2", "h2")]
    # without them the engine computes both itself
    own = process_batch(plan, Batch(records), {}, set())
    assert [(row[0], row[2]) for row in own.write.contract_inserts] == [
        ("1", source_hash(records[0], None)),
        ("2", source_hash(records[1], None)),
    ]


def test_a_batch_cursor_is_the_largest_value_present_even_across_types() -> None:
    assert batch_max([None, MISSING]) is None
    assert batch_max(["2026-01-02", None, "2026-03-01", "2026-02-01"]) == "2026-03-01"
    assert batch_max([3, 7.5, None, 2]) == 7.5
    assert batch_max([5, "10", None]) == 5  # no order between them: compared as text, as ever


def test_process_batch_reports_the_batch_cursor_on_a_nested_path_too() -> None:
    for path, records in (
        (["updated"], [{"id": 1, "name": "a", "updated": 3}, {"id": 2, "name": "b", "updated": 9}]),
        (["m", "at"], [{"id": 1, "name": "a", "m": {"at": 4}}, {"id": 2, "name": "b"}]),
    ):
        plan = _plan()
        plan.cursor_path = path
        out = process_batch(plan, Batch(records), {}, set())
        assert out.max_cursor == (9 if path == ["updated"] else 4)
