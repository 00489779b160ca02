"""``write()``: upserts by key in one transaction, with register (JSON) values turned back into columns."""

from __future__ import annotations

import base64
import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from openconnector.connectors import ConnectorError

from .dbs import Db


def accounts(db: Db) -> sa.Table:
    return db.create(
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(50)),
        sa.Column("balance", sa.Numeric(12, 2)),
        sa.Column("opened", sa.DateTime),
        sa.Column("born", sa.Date),
        sa.Column("photo", sa.LargeBinary),
        sa.Column("prefs", sa.JSON),
    )


async def test_write_inserts_then_updates_by_key(db: Db) -> None:
    table = accounts(db)
    conn = db.connector()
    async with conn:
        keys = await conn.write(
            {"table": table.name, "key": ["id"]},
            [
                {
                    "id": 1,
                    "name": "Ann",
                    "balance": "10.50",
                    "opened": "2024-05-01T10:00:00",
                    "born": "1990-02-03",
                    "photo": base64.b64encode(b"\x00\x01").decode(),
                    "prefs": {"lang": "nl", "tags": [1, 2]},
                },
                {"id": 2, "name": "Bob", "balance": 3},
            ],
        )
        assert keys == [{"id": 1}, {"id": 2}]
        # update one (only the columns given change), insert another; a different column set per record
        await conn.write(
            {"table": table.name, "key": "id"},
            [{"id": 1, "name": "Ann B."}, {"id": 3, "name": "Cy", "balance": "0.01"}],
        )
    rows = {r[0]: r for r in db.rows(f"SELECT id, name, balance, opened, born, photo FROM {table.name}")}
    assert sorted(rows) == [1, 2, 3]
    assert rows[1][1:] == (
        "Ann B.",
        decimal.Decimal("10.50"),
        dt.datetime(2024, 5, 1, 10, 0),
        dt.date(1990, 2, 3),
        b"\x00\x01",
    )
    assert rows[2][1:3] == ("Bob", decimal.Decimal("3.00"))
    assert rows[3][2] == decimal.Decimal("0.01")


async def test_write_is_all_or_nothing(db: Db) -> None:
    table = accounts(db)
    conn = db.connector()
    async with conn:
        await conn.write({"table": table.name, "key": ["id"]}, [{"id": 1, "name": "Ann"}])
        with pytest.raises(ConnectorError, match=r"record 2: column 'born': 'not a date' does not fit"):
            await conn.write(
                {"table": table.name, "key": ["id"]},
                [{"id": 1, "name": "changed"}, {"id": 2, "born": "not a date"}],
            )
        with pytest.raises(ConnectorError, match=r"record 1: column 'nmae' does not exist"):
            await conn.write({"table": table.name, "key": ["id"]}, [{"id": 9, "nmae": "x"}])
        with pytest.raises(ConnectorError, match=r"record 1: key column\(s\) id missing"):
            await conn.write({"table": table.name, "key": ["id"]}, [{"name": "no key"}])
        with pytest.raises(ConnectorError, match=r"does not exist"):
            await conn.write({"table": "oc_no_such_table", "key": ["id"]}, [{"id": 1}])
        with pytest.raises(ConnectorError, match="write target needs"):
            await conn.write({"table": table.name}, [{"id": 1}])
        # a database error rolls back the rows written before it in the same call
        too_long = "x" * 200
        with pytest.raises(ConnectorError, match="the write was rolled back"):
            await conn.write(
                {"table": table.name, "key": ["id"]},
                [{"id": 5, "name": "first"}, {"id": 6, "name": too_long, "balance": 1}],
            )
    assert db.rows(f"SELECT id, name FROM {table.name} ORDER BY id") == [(1, "Ann")]


async def test_write_composite_key(db: Db) -> None:
    table = db.create(
        sa.Column("region", sa.String(10), primary_key=True),
        sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String(20)),
    )
    conn = db.connector()
    target = {"table": table.name, "key": ["region", "code"]}
    async with conn:
        await conn.write(
            target, [{"region": "nl", "code": 1, "label": "a"}, {"region": "be", "code": 1, "label": "b"}]
        )
        keys = await conn.write(
            target, [{"region": "nl", "code": 1, "label": "A"}, {"region": "nl", "code": 1}]
        )
    assert keys == [{"region": "nl", "code": 1}, {"region": "nl", "code": 1}]
    assert db.rows(f"SELECT region, code, label FROM {table.name} ORDER BY region") == [
        ("be", 1, "b"),
        ("nl", 1, "A"),
    ]


async def test_write_postgresql_json_uuid_and_zone(pg: Db) -> None:
    t = pg.name()
    pg.exec(f"CREATE TABLE {t} (id uuid PRIMARY KEY, at timestamptz, doc jsonb, tags text[])")
    conn = pg.connector()
    uid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    async with conn:
        await conn.write(
            {"table": t, "key": ["id"]},
            [{"id": uid, "at": "2024-05-01T10:00:00Z", "doc": {"a": [1, None]}, "tags": ["x", "y"]}],
        )
    [(got_id, at, doc, tags)] = pg.rows(f"SELECT id::text, at, doc, tags FROM {t}")
    assert got_id == uid
    assert at == dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
    assert doc == {"a": [1, None]}
    assert tags == ["x", "y"]


async def test_write_mysql_aware_time_stored_as_utc(my: Db) -> None:
    t = my.name()
    my.exec(f"CREATE TABLE {t} (id INT PRIMARY KEY, at DATETIME, doc JSON)")
    conn = my.connector()
    async with conn:
        await conn.write(
            {"table": t, "key": ["id"]}, [{"id": 1, "at": "2024-05-01T12:00:00+02:00", "doc": {"a": 1}}]
        )
    [(at, doc)] = my.rows(f"SELECT at, doc FROM {t}")
    assert at == dt.datetime(2024, 5, 1, 10, 0)
    assert doc == '{"a":1}'  # MariaDB's JSON is LONGTEXT: written as compact JSON text
