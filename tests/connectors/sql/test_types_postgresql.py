"""Every PostgreSQL type we promise, read from a real server into JSON values."""

from __future__ import annotations

import base64

import orjson

from .dbs import Db, read_all


async def test_postgresql_types_to_json(pg: Db) -> None:
    t = pg.name()
    pg.exec(
        f"""CREATE TABLE {t} (
            id int PRIMARY KEY, num numeric(30,10), big numeric, money_ money, tsz timestamptz,
            ts timestamp, d date, tm time, tmz timetz, iv interval, u uuid, b bytea, ia int[],
            ta text[], na numeric[], jb jsonb, j json, ok boolean, f float8, r real, ip inet,
            txt text, bi bigint, js jsonb
        )""",
        f"""INSERT INTO {t} VALUES (
            1, 12345678901234567890.0123456789, 0.1, 12.5, '2024-05-01 10:30:00.123456+02',
            '2024-05-01 10:30:00', '2024-02-29', '23:59:59.5', '08:00:00+02', '1 day 02:03:04.5',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', '{{1,2,3}}', '{{"a","b c"}}',
            '{{1.10,2.20}}', '{{"k": [1, {{"n": null}}], "s": "x"}}', '[1, "two"]', true, 1.5, 0.25,
            '192.168.0.1', 'héllo ✓', 9007199254740993, '"just text"'
        )""",
        f"INSERT INTO {t} (id, num) VALUES (2, 0)",
    )
    res = await read_all(pg.connector(), {"table": t, "order_by": "id"})
    assert res.errors == []
    one, two = res.records
    assert one == {
        "id": 1,
        "num": "12345678901234567890.0123456789",
        "big": "0.1",
        "money_": "$12.50",  # the server's text; cast to numeric in a query for a number
        "tsz": "2024-05-01T08:30:00.123456+00:00",  # session time zone is UTC
        "ts": "2024-05-01T10:30:00",
        "d": "2024-02-29",
        "tm": "23:59:59.500000",
        "tmz": "08:00:00+02:00",
        "iv": "P1DT2H3M4.5S",
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "b": base64.b64encode(b"\x00\xff\x10").decode(),
        "ia": [1, 2, 3],
        "ta": ["a", "b c"],
        "na": ["1.10", "2.20"],
        "jb": {"k": [1, {"n": None}], "s": "x"},
        "j": [1, "two"],
        "ok": True,
        "f": 1.5,
        "r": 0.25,
        "ip": "192.168.0.1",
        "txt": "héllo ✓",
        "bi": 9007199254740993,
        "js": "just text",  # a JSON document that is a string stays that string
    }
    assert two["num"] == "0.0000000000"  # never '0E-10'
    orjson.dumps(res.records)  # every value is plain JSON


async def test_postgresql_decimals_as_numbers(pg: Db) -> None:
    t = pg.name()
    pg.exec(
        f"CREATE TABLE {t} (id int PRIMARY KEY, n numeric)",
        f"INSERT INTO {t} VALUES (1, 2.50), (2, 0.1), (3, 12345678901234567890), "
        "(4, 0.12345678901234567890123)",
    )
    res = await read_all(pg.connector(decimals="number"), {"table": t, "order_by": "id"})
    assert res.records == [{"id": 1, "n": 2.5}, {"id": 2, "n": 0.1}, {"id": 3, "n": 12345678901234567890}]
    # a value that is not exactly a float is quarantined rather than silently rounded
    [err] = res.errors
    assert err.error.startswith("column 'n': 0.12345678901234567890123 is not exactly a JSON number")
    assert err.origin_id == "4" and err.where == "row 4"
    # read.decimals overrides the source
    res = await read_all(
        pg.connector(decimals="number"), {"table": t, "order_by": "id", "decimals": "string"}
    )
    assert [r["n"] for r in res.records][:2] == ["2.50", "0.1"]


async def test_postgresql_values_that_do_not_convert(pg: Db) -> None:
    """NaN, infinity and infinite dates: that row is a RecordError naming the column; the rest reads."""
    t = pg.name()
    pg.exec(
        f"CREATE TABLE {t} (id int PRIMARY KEY, f float8, n numeric, d date, ts timestamptz)",
        f"""INSERT INTO {t} VALUES
            (1, 1.0, 1, '2024-01-01', '2024-01-01 00:00:00+00'),
            (2, 'NaN', 1, '2024-01-01', '2024-01-01 00:00:00+00'),
            (3, 1.0, 'NaN', '2024-01-01', '2024-01-01 00:00:00+00'),
            (4, 1.0, 1, 'infinity', '2024-01-01 00:00:00+00'),
            (5, 1.0, 1, '2024-01-01', '-infinity'),
            (6, '-Infinity', 1, '2024-01-01', '2024-01-01 00:00:00+00'),
            (7, 2.0, 2, '2024-01-02', '2024-01-02 00:00:00+00')""",
    )
    res = await read_all(pg.connector(), {"table": t, "order_by": "id", "batch_size": 3})
    assert [r["id"] for r in res.records] == [1, 7]
    errors = {e.origin_id: e for e in res.errors}
    assert sorted(errors) == ["2", "3", "4", "5", "6"]
    assert errors["2"].error == "column 'f': nan is not a JSON number"
    assert errors["3"].error == "column 'n': NaN is not a JSON number"
    assert errors["4"].error == "column 'd': 'infinity' is not a date JSON can carry"
    assert errors["5"].error == "column 'ts': '-infinity' is not a timestamp with time zone JSON can carry"
    assert errors["6"].error.startswith("column 'f': -inf")
    assert errors["4"].where == "row 4"
    # the raw row is kept for the quarantine, readable, with the bad value as text
    assert errors["4"].raw == {
        "id": 4,
        "f": 1.0,
        "n": "1",
        "d": "infinity",
        "ts": "2024-01-01T00:00:00+00:00",
    }
    orjson.dumps([e.raw for e in res.errors])


async def test_postgresql_timestamptz_cursor_round_trip(pg: Db) -> None:
    t = pg.name()
    pg.exec(
        f"CREATE TABLE {t} (id int PRIMARY KEY, changed timestamptz)",
        f"""INSERT INTO {t} VALUES (1, '2024-01-01 10:00:00.000001+00'), (2, '2024-01-01 10:00:00.000002+00'),
            (3, '2024-01-01 10:00:00.000002+00')""",
    )
    conn = pg.connector()
    read = {"table": t, "incremental": {"cursor": "changed"}}
    mark = (await read_all(conn, read)).ctx.new_cursor
    assert mark == {"column": "changed", "type": "datetime", "value": "2024-01-01T10:00:00.000002+00:00"}
    # microseconds survive the round trip through JSON: exactly the tied rows come back
    res = await read_all(conn, read, cursor=orjson.loads(orjson.dumps(mark)))
    assert sorted(r["id"] for r in res.records) == [2, 3]


async def test_postgresql_schema_option_and_mixed_case_names(pg: Db) -> None:
    schema = pg.name("s")
    pg.tables.remove(schema)
    pg.exec(
        f'CREATE SCHEMA "{schema}"',
        f'CREATE TABLE "{schema}"."People" ("Id" int PRIMARY KEY, "Full Name" text)',
    )
    try:
        pg.exec(f"""INSERT INTO "{schema}"."People" VALUES (1, 'Ann')""")
        res = await read_all(
            pg.connector(schema=schema), {"table": "People", "id": "Id", "columns": ["Full Name"]}
        )
        assert res.records == [{"Full Name": "Ann", "Id": 1}]
    finally:
        pg.exec(f'DROP SCHEMA "{schema}" CASCADE')
