"""Every MySQL/MariaDB type we promise, read from the real MariaDB into JSON values."""

from __future__ import annotations

import base64

import orjson

from .dbs import Db, read_all


def _create(my: Db) -> str:
    t = my.name()
    my.exec(
        f"""CREATE TABLE {t} (
            id INT PRIMARY KEY, num DECIMAL(30,10), dt DATETIME(6), ts TIMESTAMP NULL, d DATE, tm TIME(3),
            j JSON, bits BIT(10), bl BLOB, vb VARBINARY(8), yr YEAR, st SET('a','b','c'), en ENUM('x','y'),
            tiny TINYINT(1), ubig BIGINT UNSIGNED, f DOUBLE, txt VARCHAR(50), doc TEXT
        ) CHARACTER SET utf8mb4""",
        f"""INSERT INTO {t} VALUES (
            1, 12345678901234567890.0123456789, '2024-05-01 10:30:00.123456', '2024-05-01 10:30:00',
            '2024-02-29', '-01:02:03.500', '{{"k": [1, {{"n": null}}], "s": "x"}}', b'1000000001',
            x'00ff10', x'0102', 2024, 'a,c', 'y', 1, 18446744073709551615, 1.5, 'héllo ✓ 😀',
            '{{"nested": true}}'
        )""",
    )
    return t


async def test_mysql_types_to_json_from_a_table(my: Db) -> None:
    t = _create(my)
    res = await read_all(my.connector(), {"table": t, "json_columns": ["doc"]})
    assert res.errors == []
    assert res.records == [
        {
            "id": 1,
            "num": "12345678901234567890.0123456789",
            "dt": "2024-05-01T10:30:00.123456",
            "ts": "2024-05-01T10:30:00",
            "d": "2024-02-29",
            "tm": "-01:02:03.500000",  # a MySQL TIME is a clock reading (or a span), not a duration
            "j": {"k": [1, {"n": None}], "s": "x"},  # MariaDB's JSON alias found via its CHECK constraint
            "bits": 513,
            "bl": base64.b64encode(b"\x00\xff\x10").decode(),
            "vb": base64.b64encode(b"\x01\x02").decode(),
            "yr": 2024,
            "st": "a,c",
            "en": "y",
            "tiny": 1,
            "ubig": 18446744073709551615,
            "f": 1.5,
            "txt": "héllo ✓ 😀",
            "doc": {"nested": True},
        }
    ]
    orjson.dumps(res.records)


async def test_mysql_json_in_a_query_needs_json_columns_on_mariadb(my: Db) -> None:
    t = _create(my)
    plain = await read_all(my.connector(), {"query": f"SELECT id, j FROM {t}"})
    decoded = await read_all(my.connector(), {"query": f"SELECT id, j FROM {t}", "json_columns": ["j"]})
    # MariaDB sends JSON as LONGTEXT, so a query cannot tell; MySQL 5.7+ marks it and it decodes itself
    assert plain.records[0]["j"] in ('{"k": [1, {"n": null}], "s": "x"}', {"k": [1, {"n": None}], "s": "x"})
    assert decoded.records == [{"id": 1, "j": {"k": [1, {"n": None}], "s": "x"}}]


async def test_mysql_session_time_zone_is_utc_by_default(my: Db) -> None:
    t = my.name()
    my.exec(f"CREATE TABLE {t} (id INT PRIMARY KEY, ts TIMESTAMP NULL)")
    my.exec(
        "SET time_zone = '+02:00'",
        f"INSERT INTO {t} VALUES (1, '2024-05-01 12:00:00')",
        "SET time_zone = DEFAULT",
    )
    utc = await read_all(my.connector(), {"table": t})
    local = await read_all(my.connector(timezone="+02:00"), {"table": t})
    assert utc.records == [{"id": 1, "ts": "2024-05-01T10:00:00"}]
    assert local.records == [{"id": 1, "ts": "2024-05-01T12:00:00"}]


async def test_mysql_values_that_do_not_convert(my: Db) -> None:
    """A zero date and invalid JSON: that row is a RecordError naming the column; the rest reads."""
    t = my.name()
    my.exec(
        f"CREATE TABLE {t} (id INT PRIMARY KEY, d DATETIME, doc TEXT, f DOUBLE)",
        "SET SESSION sql_mode = ''",
        f"""INSERT INTO {t} VALUES (1, '2024-01-01 00:00:00', '{{}}', 1), (2, '0000-00-00 00:00:00', '[]', 1),
            (3, '2024-01-01 00:00:00', '{{broken', 1), (4, '2024-01-02 00:00:00', 'null', 2)""",
        "SET SESSION sql_mode = DEFAULT",
    )
    res = await read_all(
        my.connector(),
        {"table": t, "json_columns": ["doc"], "order_by": "id", "incremental": {"cursor": "d"}},
    )
    assert [r["id"] for r in res.records] == [1, 4]
    errors = {e.origin_id: e for e in res.errors}
    assert errors["2"].error == "column 'd': '0000-00-00 00:00:00' is not a valid datetime"
    assert errors["2"].where == "row 2"
    assert errors["2"].raw == {"id": 2, "d": "0000-00-00 00:00:00", "doc": [], "f": 1.0}
    assert errors["3"].error.startswith("column 'doc': not valid JSON")
    # the zero date does not become the high-water mark
    assert res.ctx.new_cursor == {"column": "d", "type": "datetime", "value": "2024-01-02T00:00:00"}
