"""BatchWriter's contract lookup: which records of a batch the store finds unchanged."""

from __future__ import annotations

from openconnector.registers import Store
from openconnector.registers.batch import OBJECT_ID, SOURCE_HASH, BatchWrite, BatchWriter, Created


def _stored(store: Store) -> dict[str, str]:
    """Four contracts written by run-1 (origin -> object id): a, b, c, and d, then deleted."""
    store.sync_registers({"crm": None}, {})
    writer = BatchWriter(store.engine, "people", "run-1")
    ids = {o: f"00000000-0000-7000-8000-00000000000{n}" for n, o in enumerate("abcd")}
    writer.commit(
        BatchWrite(
            object_inserts=[(ids[o], "{}", o) for o in "abcd"],
            contract_inserts=[(o, ids[o], f"src-{o}", f"tgt-{o}") for o in "abcd"],
            created=Created("crm", "person", "tester", "m1", "s1", "2026-11-29T00:00:00Z"),
        )
    )
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE contracts SET deleted = 1 WHERE origin_id = 'd'")
    return ids


def test_lookup_splits_off_the_records_the_store_finds_unchanged(store: Store) -> None:
    ids = _stored(store)
    writer = BatchWriter(store.engine, "people", "run-2")
    origins = ["a", "b", None, "d", "new", "a"]
    hashes = ["src-a", "changed", "src-x", "src-d", "src-new", "src-a"]
    contracts, unchanged = writer.lookup(origins, hashes, "m1", "s1")
    if store.engine.dialect.name == "sqlite":
        # a (twice) is unchanged; b's source changed, d is deleted: their rows come back whole
        assert unchanged == {0: ids["a"], 5: ids["a"]}
        assert sorted(contracts) == ["b", "d"]
    else:  # other databases: every row comes back, the engine compares
        assert unchanged == {}
        assert sorted(contracts) == ["a", "b", "d"]
    assert contracts["b"][OBJECT_ID] == ids["b"] and contracts["b"][SOURCE_HASH] == "src-b"


def test_lookup_leaves_what_the_run_must_judge_itself(store: Store) -> None:
    """Another mapping version or schema, or a contract this run already wrote (a duplicate id in
    the read): the rows come back whole, none is called unchanged."""
    _stored(store)
    origins, hashes = ["a", "b", "c"], ["src-a", "src-b", "src-c"]
    judged = (("m2", "s1", "run-2"), ("m1", None, "run-2"), ("m1", "s1", "run-1"))
    for mapping_version, schema_hash, run_id in judged:
        writer = BatchWriter(store.engine, "people", run_id)
        contracts, unchanged = writer.lookup(origins, hashes, mapping_version, schema_hash)
        assert unchanged == {} and sorted(contracts) == ["a", "b", "c"]
    other_pipeline = BatchWriter(store.engine, "others", "run-2")
    assert other_pipeline.lookup(origins, hashes, "m1", "s1") == ({}, {})
    assert BatchWriter(store.engine, "people", "run-2").lookup([None], ["h"], "m1", "s1") == ({}, {})


def test_lookup_of_a_batch_larger_than_one_statement_keeps_every_index(store: Store) -> None:
    store.sync_registers({"crm": None}, {})
    n = 2_345  # two full statements and a padded third
    ids = [f"00000000-0000-7000-8000-{i:012d}" for i in range(n)]
    writer = BatchWriter(store.engine, "people", "run-1")
    writer.commit(
        BatchWrite(
            object_inserts=[(ids[i], "{}", f"o{i}") for i in range(n)],
            contract_inserts=[(f"o{i}", ids[i], f"h{i}", "t") for i in range(n)],
            created=Created("crm", "person", "tester", "m1", "s1", "2026-11-29T00:00:00Z"),
        )
    )
    origins = [f"o{i}" for i in range(n)]
    hashes = [f"h{i}" if i % 7 else "changed" for i in range(n)]
    contracts, unchanged = BatchWriter(store.engine, "people", "run-2").lookup(origins, hashes, "m1", "s1")
    if store.engine.dialect.name == "sqlite":
        assert unchanged == {i: ids[i] for i in range(n) if i % 7}
        assert sorted(contracts) == sorted(f"o{i}" for i in range(0, n, 7))
    else:
        assert unchanged == {} and len(contracts) == n
