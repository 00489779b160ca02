"""A file drop through the real engine into the SQLite register: bad rows quarantined with file and
line, ids from ``@row``, files moved only after the commit, ``after: keep`` state saved by the
engine, and a second run over the same folder changing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openconnector.config import load_project
from openconnector.pipelines import PipelineRun, run_pipeline
from openconnector.registers import RunLog, Store
from openconnector.registers.memory import load_memory

SCHEMA = """{"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "amount": {"type": "integer"}}}"""


def _project(tmp_path: Path, drop: Path, read: dict[str, Any]):  # type: ignore[no-untyped-def]
    (tmp_path / "order.json").write_text(SCHEMA)
    config = {
        "registers": {"shop": {"schemas": {"order": "order.json"}}},
        "sources": {"drop": {"type": "files", "location": str(drop)}},
        "mappings": {
            "order": {
                "mapping": {"name": "name", "amount": "amount", "file": "_meta.file"},
                "cast": {"amount": "int"},
            }
        },
        "pipelines": {
            "orders": {
                "source": "drop",
                "read": {"stable_seconds": 0, **read},
                "mapping": "order",
                "target": "shop/order",
            }
        },
    }
    (tmp_path / "openconnector.yaml").write_text(yaml.safe_dump(config))
    return load_project(tmp_path / "openconnector.yaml")


async def test_drop_into_the_register(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "orders.csv").write_text("name,amount\nAnn,5\nBob,6,extra\nCy,7\n")
    project = _project(tmp_path, drop, {"path": "*.csv", "id": "@row", "batch_size": 2})
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.sync_registers({"shop": None}, project.schemas)
        r = await run_pipeline(project, store, "orders")
        assert r.status == "ok", r.errors
        assert r.counts["created"] == 2 and r.counts["quarantined"] == 1 and r.counts["read"] == 3
        q = RunLog(store.engine).quarantined(pipeline="orders").results[0]
        assert q["stage"] == "read" and q["raw"] == "Bob,6,extra"
        assert "orders.csv line 3" in str(q["errors"])
        docs = store.list_objects("shop", "order", limit=10).results
        assert {d["@self"]["source"]["origin_id"] for d in docs} == {"orders.csv:1", "orders.csv:3"}
        assert {d["file"] for d in docs} == {"orders.csv"}
        assert (drop / "processed" / "orders.csv").exists() and not (drop / "orders.csv").exists()
    finally:
        store.dispose()


async def test_keep_state_survives_between_runs(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.ndjson").write_text(
        '{"id": 1, "name": "Ann", "amount": 1}\n{"id": 2, "name": "Bob", "amount": 2}\n'
    )
    project = _project(tmp_path, drop, {"path": "*.ndjson", "after": "keep"})
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.sync_registers({"shop": None}, project.schemas)
        r1 = await run_pipeline(project, store, "orders")
        assert r1.status == "ok" and r1.counts["created"] == 2, r1.errors
        r2 = await run_pipeline(project, store, "orders")  # the engine saved which files were done
        assert r2.counts["read"] == 0
        assert any("already processed" in w for w in r2.warnings)
        (drop / "a.ndjson").write_text(
            '{"id": 1, "name": "Ann", "amount": 10}\n{"id": 2, "name": "Bob", "amount": 2}\n'
        )
        r3 = await run_pipeline(project, store, "orders")
        assert r3.counts["updated"] == 1 and r3.counts["unchanged"] == 1, r3.counts
    finally:
        store.dispose()


async def test_keep_memory_is_written_key_by_key_and_older_state_moves_into_it(
    tmp_path: Path, store: Store
) -> None:
    """Each file's last batch writes that file's memory row and nothing else, however many files
    the pipeline remembers; a store that kept the memory in the state document is migrated."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(4):
        (drop / f"{i}.ndjson").write_text(f'{{"id": {i}, "name": "n{i}", "amount": {i}}}\n')
    project = _project(tmp_path, drop, {"path": "*.ndjson", "after": "keep"})
    store.sync_registers({"shop": None}, project.schemas)
    runlog = RunLog(store.engine)
    old = (drop / "0.ndjson").stat()
    legacy = {"0.ndjson": {"size": old.st_size, "mtime": old.st_mtime, "sha256": "0" * 64}}
    runlog.save_state("orders", connector_state={"files": legacy})

    run = PipelineRun(project, store, "orders")
    written: list[tuple[set[str], set[str], str | None]] = []
    run.on_batch.append(
        lambda b, o: written.append(
            (set(o.write.memory_set), o.write.memory_removed, o.write.connector_state)
        )
    )
    r = await run.execute()
    assert r.status == "partial" and r.counts["created"] == 3, r.errors  # 0.ndjson was known
    # the first commit carries the migrated entry and the emptied state document; then one key each
    assert written == [
        ({"0.ndjson", "1.ndjson"}, set(), "{}"),
        ({"2.ndjson"}, set(), None),
        ({"3.ndjson"}, set(), None),
    ]
    assert runlog.state("orders").connector_state == {}
    assert set(load_memory(store.engine, "orders")) == {f"{i}.ndjson" for i in range(4)}

    (drop / "1.ndjson").unlink()  # forgotten at the next run, which commits no batch
    r2 = await run_pipeline(project, store, "orders")
    assert r2.counts["read"] == 0
    assert set(load_memory(store.engine, "orders")) == {"0.ndjson", "2.ndjson", "3.ndjson"}


async def test_a_bad_rows_text_reads_back_from_the_quarantine_on_both_backends(
    tmp_path: Path, store: Store
) -> None:
    """A CSV row that does not parse is kept as its text, a JSON string: PostgreSQL used to hand
    that back already parsed, and reading the quarantine failed."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "orders.csv").write_text("name,amount\nAnn,5\nBob,6,extra\n")
    project = _project(tmp_path, drop, {"path": "*.csv", "id": "@row"})
    store.sync_registers({"shop": None}, project.schemas)
    r = await run_pipeline(project, store, "orders")
    assert r.counts["created"] == 1 and r.counts["quarantined"] == 1, r.errors
    q = RunLog(store.engine).quarantined(pipeline="orders").results
    assert [e["raw"] for e in q] == ["Bob,6,extra"]
    assert store.list_objects("shop", "order").results[0]["amount"] == 5
