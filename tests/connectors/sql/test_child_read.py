"""Reads in a child process (``read.reader``): the same batches, errors, warnings and cursor as in a
thread; a child that dies or is stopped never leaves a read looking complete, nor a process behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from openconnector.config import load_project
from openconnector.connectors import ConnectorError, ReadContext
from openconnector.connectors.sql import mycext
from openconnector.connectors.sql.estimate import CHILD_READ_ROWS, estimated_rows
from openconnector.ids import IdResolver, source_hash
from openconnector.pipelines import run_pipeline
from openconnector.registers import RunLog, Store

from .dbs import Db, read_all
from .test_read import people


def _summary(res: Any) -> dict[str, Any]:
    return {
        "batches": [(b.where, b.records) for b in res.batches],
        "errors": [(e.where, e.error, e.raw, e.origin_id) for e in res.errors],
        "cursor": res.ctx.new_cursor,
        "warnings": res.ctx.warnings,
        "complete": res.ctx.complete,
    }


async def test_child_reads_what_a_thread_reads(db: Db) -> None:
    table = people(db, 7)
    read = {"table": table.name, "batch_size": 3, "incremental": {"cursor": "updated_at"}}
    # a cursor stored for another column: the warning travels back from the child
    stored = {"column": "id", "type": "int", "value": 2}
    thread = await read_all(db.connector(), {**read, "reader": "thread"}, cursor=stored)
    child = await read_all(db.connector(), {**read, "reader": "process"}, cursor=stored)
    assert _summary(child) == _summary(thread)
    assert len(child.records) == 7 and child.ctx.new_cursor is not None
    # the child hands along each record's origin id and source hash, as the engine computes them
    for batch in child.batches:
        assert batch.origins == [IdResolver("id")(r, None) for r in batch.records]
        assert batch.hashes == [source_hash(r, None) for r in batch.records]
    assert all(b.origins is None and b.hashes is None for b in thread.batches)
    assert any("stored cursor is for column 'id'" in w for w in child.ctx.warnings)
    # a query, incrementally from a mark
    query = {"query": f"SELECT id, name FROM {table.name}", "incremental": {"cursor": "id"}}
    mark = {"column": "id", "type": "int", "value": 5}
    thread = await read_all(db.connector(), {**query, "reader": "thread"}, cursor=mark)
    child = await read_all(db.connector(), {**query, "reader": "process"}, cursor=mark)
    assert _summary(child) == _summary(thread)
    assert sorted(r["id"] for r in child.records) == [5, 6, 7]


async def test_rows_that_do_not_convert_come_back_as_record_errors(my: Db) -> None:
    t = my.name()
    my.exec(
        f"CREATE TABLE {t} (id INT PRIMARY KEY, d DATETIME, amount DECIMAL(8,2))",
        "SET SESSION sql_mode = ''",
        f"INSERT INTO {t} VALUES (1, '2024-01-01 00:00:00', 1.5), (2, '0000-00-00 00:00:00', 2.25)",
        "SET SESSION sql_mode = DEFAULT",
    )
    res = await read_all(my.connector(), {"table": t, "order_by": "id", "reader": "process"})
    assert res.records == [{"id": 1, "d": "2024-01-01T00:00:00", "amount": "1.50"}]
    [error] = res.errors
    assert error.error == "column 'd': '0000-00-00 00:00:00' is not a valid datetime"
    assert (error.where, error.origin_id) == ("row 2", "2")


async def test_errors_in_the_child_are_the_same_connector_errors(db: Db) -> None:
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"table": "oc_no_such_table", "reader": "process"})
    assert "'oc_no_such_table' does not exist" in str(err.value)
    table = people(db, 1)
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"query": f"SELEC id FROM {table.name}", "reader": "process"})
    assert "the database rejected the read" in str(err.value)
    assert err.value.where == "query" and err.value.retryable is False
    conn = db.connector(location=db.location.rsplit("/", 1)[0] + "/oc_no_such_db")
    with pytest.raises(ConnectorError, match="oc_no_such_db"):
        await read_all(conn, {"table": "anything", "reader": "process"})


def _children(conn: Any) -> list[Any]:
    return list(conn._children)


async def test_a_child_killed_mid_read_fails_the_read(pg: Db) -> None:
    t = pg.name()
    pg.exec(f"CREATE TABLE {t} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 50000) g")
    conn = pg.connector()
    ctx = ReadContext(pipeline="test")
    read = conn.Read.model_validate({"table": t, "batch_size": 500, "reader": "process"})
    rows = 0
    with pytest.raises(ConnectorError) as err:
        async with conn:
            async for batch in conn.read(read, ctx):
                rows += len(batch.records)
                if rows == 500:
                    [child] = _children(conn)
                    os.kill(child.pid, signal.SIGKILL)
    assert 500 <= rows < 50000
    assert "the reader process ended before the read did (exit code -9)" in str(err.value)
    assert err.value.where == f"table {t}" and err.value.retryable is True
    assert ctx.new_cursor is None


async def test_the_database_going_away_under_the_child(pg: Db) -> None:
    t = pg.name()
    pg.exec(f"CREATE TABLE {t} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 50000) g")
    name = f"kill-{t}"
    conn = pg.connector(name)
    read = conn.Read.model_validate({"table": t, "batch_size": 500, "reader": "process"})
    rows = 0
    with pytest.raises(ConnectorError) as err:
        async with conn:
            async for batch in conn.read(read, ReadContext(pipeline="test")):
                rows += len(batch.records)
                if rows == 500:
                    sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"
                    with pg.engine.connect() as admin:
                        assert admin.execute(sa.text(sql), {"a": f"openconnector:{name}"}).all()
    assert rows < 50000
    assert "the read broke off" in str(err.value)
    assert err.value.where is not None and err.value.where.startswith(f"table {t}, after row ")


async def test_stopping_early_ends_the_child(db: Db) -> None:
    t = db.id_table(20000)
    conn = db.connector()
    read = conn.Read.model_validate({"table": t, "batch_size": 100, "reader": "process"})
    gen = conn.read(read, ReadContext(pipeline="test"))
    assert len((await gen.__anext__()).records) == 100
    [child] = _children(conn)
    await gen.aclose()
    assert not child.alive() and conn._children == set()
    # closing the connector while a read is suspended ends the child and the read, never "complete"
    ctx = ReadContext(pipeline="test")
    gen = conn.read(read, ctx)
    await gen.__anext__()
    [child] = _children(conn)
    await conn.aclose()
    assert not child.alive()
    with pytest.raises(ConnectorError, match="the connector was closed during the read"):
        async for _ in gen:
            pass
    assert ctx.complete and ctx.new_cursor is None  # the error, not a partial flag, tells the engine


async def test_auto_takes_a_child_for_a_big_full_table_read(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    table = people(db, 50)
    db.exec(f"ANALYZE TABLE {table.name}" if db.kind == "mysql" else f"ANALYZE {table.name}")
    conn = db.connector()
    async with conn:
        estimate = await asyncio.to_thread(estimated_rows, conn.engine, conn.sql_source, table.name)
        assert 25 <= estimate <= 100  # statistics, not a count
        assert await asyncio.to_thread(estimated_rows, conn.engine, conn.sql_source, "oc_no_such") == 0
        full = conn.Read.model_validate({"table": table.name, "incremental": {"cursor": "updated_at"}})
        query = conn.Read.model_validate({"query": f"SELECT * FROM {table.name}"})
        first, later = ReadContext(pipeline="t"), ReadContext(pipeline="t", cursor="2024-01-01T00:00:00")
        assert not conn._in_child(full, first)  # 50 rows: a thread
        # ten million rows: PyMySQL decodes in Python; psycopg and MySQL's C extension in C
        c_ext = db.kind == "mysql" and mycext.usable(conn.sql_source)
        with monkeypatch.context() as m:
            m.setattr("openconnector.connectors.sql.connector.estimated_rows", lambda *a: 10_000_000)
            assert conn._in_child(full, first) is (db.kind == "mysql" and not c_ext)
        if c_ext:
            return  # what follows is the threshold's logic, which a read on the C extension skips
        monkeypatch.setitem(CHILD_READ_ROWS, conn.engine.dialect.name, 10)
        assert conn._in_child(full, first)
        assert not conn._in_child(full, later)  # an incremental run reads only what is new
        assert conn._in_child(full, ReadContext(pipeline="t", cursor="2024-01-01T00:00:00", full=True))
        assert not conn._in_child(query, first)  # a query's size is unknown
        forced = conn.Read.model_validate({"table": table.name, "reader": "thread"})
        assert not conn._in_child(forced, first)


async def test_a_pipeline_reading_through_a_child(my: Db, tmp_path: Path) -> None:
    table = people(my, 30)
    (tmp_path / "person.json").write_text('{"type": "object", "required": ["name"]}')
    config = {
        "registers": {"crm": {"schemas": {"person": "person.json"}}},
        "sources": {"db": {"type": "mysql", "location": my.location}},
        "pipelines": {
            "people": {
                "source": "db",
                "read": {
                    "table": str(table.name),
                    "batch_size": 7,
                    "reader": "process",
                    "incremental": {"cursor": "updated_at"},
                },
                "target": "crm/person",
            }
        },
    }
    (tmp_path / "openconnector.yaml").write_text(yaml.safe_dump(config))
    project = load_project(tmp_path / "openconnector.yaml")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        store.sync_registers({"crm": None}, project.schemas)
        first = await run_pipeline(project, store, "people")
        assert first.status == "ok", first.errors
        assert first.counts["created"] == 30
        my.insert(table, [{"id": 31, "name": "p31", "score": "1.00", "updated_at": dt.datetime(2025, 1, 1)}])
        again = await run_pipeline(project, store, "people")
        assert again.status == "ok", again.errors
        # from the stored mark on: the newest old row again (unchanged) and the new one
        assert (again.counts["read"], again.counts["created"], again.counts["unchanged"]) == (2, 1, 1)
        cursor = {"column": "updated_at", "type": "datetime", "value": "2025-01-01T00:00:00"}
        assert RunLog(store.engine).state("people").cursor == cursor
    finally:
        store.engine.dispose()


async def test_a_never_analysed_postgresql_table_is_estimated_by_its_size(pg: Db) -> None:
    """Before its first ANALYZE a table's reltuples is -1: its size on disk gives the estimate."""
    t = pg.name()
    pg.exec(f"CREATE TABLE {t} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g")
    conn = pg.connector()
    async with conn:
        [(tuples,)] = pg.rows("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)", t=t)
        if tuples >= 0:
            pytest.skip("autovacuum analysed the table first")
        estimate = await asyncio.to_thread(estimated_rows, conn.engine, conn.sql_source, t)
        assert 5_000 <= estimate <= 50_000  # ~1.4 MB on disk at ~200 bytes a row
