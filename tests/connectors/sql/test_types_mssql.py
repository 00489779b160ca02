"""MSSQL types against a real server; runs only with OPENCONNECTOR_TEST_MSSQL_URL set.

Without a server, test_convert.py checks the same conversions on the values pymssql returns.
"""

from __future__ import annotations

import base64

from .dbs import Db, read_all


async def test_mssql_types_to_json(ms: Db) -> None:
    t = ms.name()
    ms.exec(
        f"""CREATE TABLE {t} (
            id int PRIMARY KEY, g uniqueidentifier, dto datetimeoffset(3), m money, sm smallmoney,
            d2 datetime2(6), d date, tm time(3), b bit, vb varbinary(10), n nvarchar(20), dec decimal(20,6),
            rv rowversion
        )""",
        f"""INSERT INTO {t} (id, g, dto, m, sm, d2, d, tm, b, vb, n, dec) VALUES (
            1, '6F9619FF-8B86-D011-B42D-00C04FC964FF', '2024-05-01 10:30:00.123 +02:00', 1234.56, 12.5,
            '2024-05-01 10:30:00.000001', '2024-02-29', '23:59:59.5', 1, 0x00FF10, N'héllo ✓', 12.3456
        )""",
    )
    res = await read_all(ms.connector(), {"table": t})
    assert res.errors == []
    [rec] = res.records
    rv = rec.pop("rv")
    assert len(base64.b64decode(rv)) == 8
    assert rec == {
        "id": 1,
        "g": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
        "dto": "2024-05-01T10:30:00.123000+02:00",
        "m": "1234.5600",
        "sm": "12.5000",
        "d2": "2024-05-01T10:30:00.000001",
        "d": "2024-02-29",
        "tm": "23:59:59.500000",
        "b": True,
        "vb": base64.b64encode(b"\x00\xff\x10").decode(),
        "n": "héllo ✓",
        "dec": "12.345600",
    }


async def test_mssql_rowversion_cursor(ms: Db) -> None:
    t = ms.name()
    ms.exec(f"CREATE TABLE {t} (id int PRIMARY KEY, v int, rv rowversion)")
    ms.exec(f"INSERT INTO {t} (id, v) VALUES (1, 1), (2, 2)")
    conn = ms.connector()
    read = {"table": t, "incremental": {"cursor": "rv"}}
    first = await read_all(conn, read)
    assert sorted(r["id"] for r in first.records) == [1, 2]
    assert first.ctx.new_cursor["type"] == "bytes"
    ms.exec(f"UPDATE {t} SET v = 10 WHERE id = 1")
    second = await read_all(conn, read, cursor=first.ctx.new_cursor)
    assert sorted(r["id"] for r in second.records) == [1, 2]  # 2 holds the mark: read again (>=)
