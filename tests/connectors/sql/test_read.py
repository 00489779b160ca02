"""Reading tables and queries, fully and incrementally, on every database (MSSQL when configured)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from openconnector.connectors import ConnectorError

from .dbs import Db, read_all

T0 = dt.datetime(2024, 3, 1, 12, 0, 0)


def people(db: Db, n: int = 7) -> sa.Table:
    table = db.create(
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(50)),
        sa.Column("score", sa.Numeric(10, 2)),
        sa.Column("updated_at", sa.DateTime),
    )
    db.insert(
        table,
        [
            {"id": i, "name": f"p{i}", "score": f"{i}.50", "updated_at": T0 + dt.timedelta(minutes=i)}
            for i in range(1, n + 1)
        ],
    )
    return table


async def test_full_read_of_a_table_in_batches(db: Db) -> None:
    table = people(db, 7)
    res = await read_all(db.connector(), {"table": table.name, "batch_size": 3})
    assert [len(b.records) for b in res.batches] == [3, 3, 1]
    assert [b.where for b in res.batches] == ["rows 1-3", "rows 4-6", "rows 7-7"]
    by_id = {r["id"]: r for r in res.records}
    assert sorted(by_id) == list(range(1, 8))
    assert by_id[2] == {"id": 2, "name": "p2", "score": "2.50", "updated_at": "2024-03-01T12:02:00"}
    assert res.errors == []
    assert res.ctx.complete and res.ctx.new_cursor is None


async def test_columns_where_params_and_order(db: Db) -> None:
    table = people(db, 7)
    res = await read_all(
        db.connector(),
        {
            "table": table.name,
            "columns": ["name"],
            "where": "id >= :low AND name <> :skip",
            "params": {"low": 3, "skip": "p5"},
            "order_by": ["id desc"],
        },
    )
    # the id column is added even when read.columns leaves it out: the engine needs it
    assert res.records == [{"name": n, "id": i} for i, n in [(7, "p7"), (6, "p6"), (4, "p4"), (3, "p3")]]


async def test_query_with_named_and_list_parameters(db: Db) -> None:
    table = people(db, 7)
    res = await read_all(
        db.connector(),
        {
            "query": f"SELECT id, name FROM {table.name} WHERE id IN :ids AND name <> :skip",
            "params": {"ids": [1, 3, 5], "skip": "p3"},
            "order_by": "id",
        },
    )
    assert res.records == [{"id": 1, "name": "p1"}, {"id": 5, "name": "p5"}]


async def test_schema_qualified_table(db: Db) -> None:
    table = people(db, 2)
    schema = {"postgresql": "public", "mysql": "test", "mssql": "dbo"}[db.kind]
    res = await read_all(db.connector(), {"table": f"{schema}.{table.name}"})
    assert len(res.records) == 2
    # the source's schema option qualifies an unqualified table the same way
    res = await read_all(db.connector(schema=schema), {"table": table.name})
    assert len(res.records) == 2


async def test_composite_id(db: Db) -> None:
    table = db.create(
        sa.Column("region", sa.String(10), primary_key=True),
        sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String(20)),
    )
    db.insert(
        table,
        [
            {"region": "nl", "code": 1, "label": "a"},
            {"region": "nl", "code": 2, "label": "b"},
            {"region": "be", "code": 1, "label": "c"},
        ],
    )
    read = {"table": table.name, "id": ["region", "code"], "columns": ["label"], "order_by": ["label"]}
    res = await read_all(db.connector(), read)
    assert res.records == [
        {"label": "a", "region": "nl", "code": 1},
        {"label": "b", "region": "nl", "code": 2},
        {"label": "c", "region": "be", "code": 1},
    ]
    with pytest.raises(ConnectorError, match=r"read.id column 'regio' does not exist.*did you mean 'region'"):
        await read_all(db.connector(), {"table": table.name, "id": ["regio", "code"]})


# -- incremental ------------------------------------------------------------------------------------


def _ids(records: list[dict[str, Any]]) -> list[int]:
    return sorted(r["id"] for r in records)


async def test_incremental_ties_at_batch_and_run_boundary(db: Db) -> None:
    """Five rows share the newest timestamp across batch boundaries: none is skipped, ever."""
    table = db.create(
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("updated_at", sa.DateTime),
    )
    t1, t2, t3 = T0, T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=2)
    db.insert(table, [{"id": i, "updated_at": t1 if i <= 2 else t2} for i in range(1, 8)])
    read = {"table": table.name, "batch_size": 2, "incremental": {"cursor": "updated_at"}}
    conn = db.connector()

    first = await read_all(conn, read)
    assert _ids(first.records) == [1, 2, 3, 4, 5, 6, 7]
    assert [len(b.records) for b in first.batches] == [2, 2, 2, 1]
    mark = first.ctx.new_cursor
    assert mark == {"column": "updated_at", "type": "datetime", "value": "2024-03-01T12:00:01"}

    # a row committed later with the SAME timestamp as the mark, and a newer one
    db.insert(table, [{"id": 8, "updated_at": t2}, {"id": 9, "updated_at": t3}])
    second = await read_all(conn, read, cursor=mark)
    # everything at the mark is read again (the engine finds 3..7 unchanged by hash) and 8 is not lost
    assert _ids(second.records) == [3, 4, 5, 6, 7, 8, 9]
    mark = second.ctx.new_cursor
    assert mark["value"] == "2024-03-01T12:00:02"

    # nothing new: the run ends after re-reading only the rows at the mark, and the mark stays
    third = await read_all(conn, read, cursor=mark)
    assert _ids(third.records) == [9]
    assert third.ctx.new_cursor == mark


async def test_incremental_lookback_catches_late_rows(db: Db) -> None:
    table = db.create(
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("updated_at", sa.DateTime),
    )
    db.insert(table, [{"id": i, "updated_at": T0 + dt.timedelta(seconds=10 * i)} for i in range(1, 6)])
    conn = db.connector()
    plain = {"table": table.name, "incremental": {"cursor": "updated_at"}}
    mark = (await read_all(conn, plain)).ctx.new_cursor
    assert mark["value"] == "2024-03-01T12:00:50"

    # a transaction that stamped its row 25 s before the mark commits only now
    db.insert(table, [{"id": 6, "updated_at": T0 + dt.timedelta(seconds=25)}])
    without = await read_all(conn, plain, cursor=mark)
    assert _ids(without.records) == [5]  # the documented gap look-back closes
    looking_back = {**plain, "incremental": {"cursor": "updated_at", "lookback": 30}}
    with_lb = await read_all(conn, looking_back, cursor=mark)
    assert _ids(with_lb.records) == [2, 3, 4, 5, 6]  # >= 12:00:50 - 30 s
    assert with_lb.ctx.new_cursor == mark  # look-back never moves the mark back


async def test_incremental_integer_cursor_full_read_and_start(db: Db) -> None:
    table = people(db, 6)
    conn = db.connector()
    read = {"table": table.name, "incremental": {"cursor": "id", "start": 4}}
    res = await read_all(conn, read, cursor=4)  # the engine passes start when nothing is stored
    assert _ids(res.records) == [4, 5, 6]
    assert res.ctx.new_cursor == {"column": "id", "type": "int", "value": 6}
    full = await read_all(conn, read, cursor=None, full=True)
    assert _ids(full.records) == [1, 2, 3, 4, 5, 6]
    assert full.ctx.new_cursor["value"] == 6
    # a run that finds nothing keeps the mark it was given
    far = {"column": "id", "type": "int", "value": 99}
    assert (await read_all(conn, read, cursor=far)).ctx.new_cursor == far


async def test_incremental_start_as_text_gets_the_column_type(db: Db) -> None:
    table = people(db, 5)
    read = {"table": table.name, "incremental": {"cursor": "updated_at"}}
    res = await read_all(db.connector(), read, cursor="2024-03-01T12:04:00")
    assert _ids(res.records) == [4, 5]


async def test_incremental_stored_for_another_column_reads_everything(db: Db) -> None:
    table = people(db, 3)
    res = await read_all(
        db.connector(),
        {"table": table.name, "incremental": {"cursor": "updated_at"}},
        cursor={"column": "id", "type": "int", "value": 2},
    )
    assert _ids(res.records) == [1, 2, 3]
    assert any("stored cursor is for column 'id'" in w for w in res.ctx.warnings)


async def test_incremental_query_wrapped_by_the_connector(db: Db) -> None:
    table = people(db, 6)
    query = f"SELECT id, name, updated_at FROM {table.name}"
    read = {"query": query, "incremental": {"cursor": "updated_at"}}
    conn = db.connector()
    mark = (await read_all(conn, read)).ctx.new_cursor
    db.insert(table, [{"id": 7, "name": "p7", "updated_at": T0 + dt.timedelta(minutes=9)}])
    res = await read_all(conn, read, cursor=mark)
    assert _ids(res.records) == [6, 7]


async def test_incremental_query_placing_cursor_itself(db: Db) -> None:
    table = people(db, 6)
    query = f"SELECT id, updated_at FROM {table.name} WHERE updated_at >= :cursor AND id <> :skip"
    read: dict[str, Any] = {"query": query, "params": {"skip": 6}, "incremental": {"cursor": "updated_at"}}
    conn = db.connector()
    with pytest.raises(ConnectorError, match=r"set read\.incremental\.start"):
        await read_all(conn, read)
    read["incremental"]["start"] = "2024-03-01T12:03:00"
    first = await read_all(conn, read, cursor=read["incremental"]["start"])
    assert _ids(first.records) == [3, 4, 5]
    again = await read_all(conn, read, cursor=first.ctx.new_cursor)
    assert _ids(again.records) == [5]
    full = await read_all(conn, read, full=True)  # a full read binds start
    assert _ids(full.records) == [3, 4, 5]


# -- bad input ----------------------------------------------------------------------------------------


async def test_unknown_table(db: Db) -> None:
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"table": "oc_no_such_table"})
    assert "'oc_no_such_table' does not exist" in str(err.value)
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"query": "SELECT * FROM oc_no_such_table"})
    assert "oc_no_such_table" in str(err.value)  # the database's own message names it
    assert err.value.where == "query"


async def test_unknown_column(db: Db) -> None:
    table = people(db, 2)
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"table": table.name, "columns": ["name", "nmae"]})
    assert "read.columns column 'nmae' does not exist" in str(err.value)
    assert "did you mean 'name'" in str(err.value)
    with pytest.raises(ConnectorError, match=r"incremental\.cursor column 'changed'"):
        await read_all(db.connector(), {"table": table.name, "incremental": {"cursor": "changed"}})
    with pytest.raises(ConnectorError, match=r"read\.order_by column 'nope'"):
        await read_all(db.connector(), {"table": table.name, "order_by": ["nope desc"]})
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"query": f"SELECT id, nmae FROM {table.name}"})
    assert "nmae" in str(err.value)
    # a query whose result lacks the id column
    missing_id = r"read\.id column 'id' does not exist in the result of the query"
    with pytest.raises(ConnectorError, match=missing_id):
        await read_all(db.connector(), {"query": f"SELECT name FROM {table.name}"})


async def test_syntax_error_gives_the_database_message(db: Db) -> None:
    table = people(db, 1)
    with pytest.raises(ConnectorError) as err:
        await read_all(db.connector(), {"query": f"SELEC id FROM {table.name}"})
    message = str(err.value).lower()
    assert "syntax" in message
    assert "the database rejected the read" in message
    assert err.value.retryable is False


async def test_missing_parameter_is_named(db: Db) -> None:
    table = people(db, 1)
    with pytest.raises(ConnectorError, match=r"read.query uses :low but read.params has no value"):
        await read_all(db.connector(), {"query": f"SELECT id FROM {table.name} WHERE id > :low"})


async def test_no_injection_through_parameters_or_names(db: Db) -> None:
    table = people(db, 3)
    evil = f"x' OR '1'='1'; DROP TABLE {table.name}; --"
    res = await read_all(
        db.connector(),
        {"query": f"SELECT id FROM {table.name} WHERE name = :name", "params": {"name": evil}},
    )
    assert res.records == []
    read = {"table": table.name, "where": "name = :name", "params": {"name": evil}}
    res = await read_all(db.connector(), read)
    assert res.records == []
    with pytest.raises(ConnectorError, match="does not exist"):
        await read_all(db.connector(), {"table": f"{table.name}; DROP TABLE {table.name}"})
    with pytest.raises(ConnectorError, match="does not exist"):
        bad_column = f'id"; DROP TABLE {table.name}; --'
        await read_all(db.connector(), {"table": table.name, "columns": [bad_column]})
    assert db.rows(f"SELECT COUNT(*) FROM {table.name}") == [(3,)]


async def test_check_connects(db: Db) -> None:
    conn = db.connector()
    async with conn:
        await conn.check()
