"""Value conversion and the stored cursor, on the Python values each driver produces.

MSSQL cannot run here, so its types are checked on the values pymssql returns for them:
uniqueidentifier → uuid.UUID, datetimeoffset → aware datetime, money/smallmoney → Decimal with
four places, rowversion → 8 bytes, bit → bool, datetime2 → naive datetime, time → time.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import Any

import pytest

from openconnector.connectors import ConnectorError
from openconnector.connectors.sql import cursor as cur
from openconnector.connectors.sql.convert import (
    ColumnError,
    Converter,
    Unloadable,
    clock,
    decimal_number,
    duration,
)

D = decimal.Decimal


def test_mssql_values() -> None:
    conv = Converter()
    amsterdam = dt.timezone(dt.timedelta(hours=2))
    row = (
        uuid.UUID("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
        dt.datetime(2024, 5, 1, 10, 30, 0, 123000, tzinfo=amsterdam),
        D("1234.5600"),
        b"\x00\x00\x00\x00\x00\x00\x07\xd1",
        True,
        dt.datetime(2024, 5, 1, 10, 30, 0, 1000),
        dt.time(23, 59, 59, 999999),
        "nvarchar ✓",
    )
    names = ["guid", "dto", "money", "rv", "flag", "dt2", "t", "s"]
    assert conv.row(names, row, [None] * len(row)) == {
        "guid": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
        "dto": "2024-05-01T10:30:00.123000+02:00",
        "money": "1234.5600",
        "rv": "AAAAAAAAB9E=",
        "flag": True,
        "dt2": "2024-05-01T10:30:00.001000",
        "t": "23:59:59.999999",
        "s": "nvarchar ✓",
    }
    assert Converter("number").value(D("1234.5600")) == 1234.56


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0E-10"), "0.0000000000"),
        (D("1E+3"), "1000"),
        (D("-0.000001"), "-0.000001"),
        (D("12345678901234567890.0123456789"), "12345678901234567890.0123456789"),
    ],
)
def test_decimal_strings_are_plain_and_exact(value: D, expected: str) -> None:
    assert Converter().value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D("2.50"), 2.5), (D("0.1"), 0.1), (D("5.000"), 5), (D("-3"), -3), (D(2**63), 2**63)],
)
def test_decimal_numbers_when_exact(value: D, expected: float) -> None:
    got = decimal_number(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value", [D("0.12345678901234567890123"), D(2**70), D("NaN"), D("Infinity")])
def test_decimal_numbers_refuse_to_round(value: D) -> None:
    with pytest.raises(ValueError):
        decimal_number(value)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        (dt.timedelta(0), "PT0S"),
        (dt.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500), "P1DT2H3M4.5S"),
        (dt.timedelta(days=30), "P30D"),
        (dt.timedelta(seconds=-90), "-PT1M30S"),
        (dt.timedelta(microseconds=1), "PT0.000001S"),
    ],
)
def test_durations(value: dt.timedelta, iso: str) -> None:
    assert duration(value) == iso


def test_mysql_time_as_clock() -> None:
    assert clock(dt.timedelta(hours=838, minutes=59, seconds=59)) == "838:59:59"
    assert clock(dt.timedelta(days=-1, seconds=86400 - 3723, microseconds=500000)) == "-01:02:02.500000"


def test_nested_structures_and_fallbacks() -> None:
    conv = Converter()
    value = {"a": [D("1.5"), dt.date(2024, 1, 1), None, {"b": b"\x01"}], 2: (1, 2)}
    assert conv.value(value) == {"a": ["1.5", "2024-01-01", None, {"b": "AQ=="}], "2": [1, 2]}

    class Weird:
        def __str__(self) -> str:
            return "weird"

    class MyStr(str):
        pass

    assert conv.value(Weird()) == "weird"
    assert type(conv.value(MyStr("x"))) is str


def test_row_errors_name_the_column_and_keep_the_rest() -> None:
    conv = Converter()
    names = ["id", "f", "d"]
    special: list[Any] = [None, None, None]
    with pytest.raises(ColumnError, match="column 'f': nan is not a JSON number"):
        conv.row(names, (1, math.nan, None), special)
    with pytest.raises(ColumnError, match="column 'd': 'infinity' is not a date JSON can carry"):
        conv.row(names, (1, 1.0, Unloadable("infinity", "date")), special)
    assert conv.lenient(names, (1, math.inf, Unloadable("infinity", "date")), special) == {
        "id": 1,
        "f": "inf",
        "d": "infinity",
    }


# -- the stored cursor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 1, 1, 10, 0, 0, 5),
        dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.UTC),
        dt.date(2024, 1, 1),
        42,
        D("10.250"),
        1.5,
        "v-0042",
        b"\x00\x00\x00\x00\x00\x00\x07\xd1",
    ],
)
def test_cursor_round_trips(value: Any) -> None:
    stored = cur.encode("c", value)
    assert cur.decode(stored, "c") == (value, None)


def test_cursor_decode_edge_cases() -> None:
    assert cur.decode(17, "c") == (17, None)  # plain value: incremental.start
    value, warning = cur.decode({"column": "other", "type": "int", "value": 1}, "c")
    assert value is None and warning and "for column 'other'" in warning
    value, warning = cur.decode({"column": "c", "type": "datetime", "value": "garbage"}, "c")
    assert value is None and warning and "cannot be read" in warning
    with pytest.raises(TypeError):
        cur.encode("c", uuid.uuid4())


def test_cursor_step_back() -> None:
    assert cur.step_back(dt.datetime(2024, 1, 1, 0, 1), 90, "c") == dt.datetime(2023, 12, 31, 23, 59, 30)
    assert cur.step_back(dt.date(2024, 1, 2), 3600, "c") == dt.date(2024, 1, 1)  # whole days, rounded up
    assert cur.step_back(100, 2.5, "c") == 97
    assert cur.step_back(D("1.5"), 0.5, "c") == D("1.0")
    assert cur.step_back("x", None, "c") == "x"
    with pytest.raises(ConnectorError, match="lookback needs a timestamp"):
        cur.step_back("x", 5, "c")


def test_cursor_newest_ignores_odd_values() -> None:
    t1, t2 = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)
    assert cur.newest(t1, t2) == t2
    assert cur.newest(t2, t1) == t2
    assert cur.newest(t2, "0000-00-00 00:00:00") == t2
    assert cur.newest(None, None) is None
    assert cur.newest(1, D("1.5")) == D("1.5")
    assert cur.newest(t1, dt.datetime(2024, 1, 2, tzinfo=dt.UTC)) == t1  # naive vs aware: keep


def test_cursor_coerce_start() -> None:
    assert cur.coerce("2024-01-01T10:00:00Z", dt.datetime) == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert cur.coerce("2024-01-01", dt.date) == dt.date(2024, 1, 1)
    assert cur.coerce("7", int) == 7
    assert cur.coerce(7, dt.datetime) == 7
    with pytest.raises(ConnectorError, match="'yesterday' is not a datetime"):
        cur.coerce("yesterday", dt.datetime)


def test_chunk_conversion_equals_row_conversion() -> None:
    """The column-wise fast path gives exactly what the per-row path gives."""
    conv = Converter()
    names = ["i", "f", "d", "t", "day", "u", "mixed", "s"]
    rows = [
        (
            1,
            1.5,
            D("1.10"),
            dt.datetime(2024, 1, 1, 10),
            dt.date(2024, 1, 1),
            uuid.UUID(int=1),
            {"a": D("2")},
            "x",
        ),
        (2, None, None, None, None, None, [1, b"\x01"], None),
        (
            3,
            -0.0,
            D("0E-10"),
            dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            dt.date(1, 1, 1),
            uuid.UUID(int=2),
            7,
            "",
        ),
    ]
    special: list[Any] = [None] * len(names)
    fast = conv.rows(names, rows, special)
    assert fast == [conv.row(names, r, special) for r in rows]
    assert fast is not None and fast[1] == {
        "i": 2,
        "f": None,
        "d": None,
        "t": None,
        "day": None,
        "u": None,
        "mixed": [1, "AQ=="],
        "s": None,
    }
    assert conv.rows(names, [], special) == []
    # a value that does not convert sends the chunk down the per-row path (None)
    assert conv.rows(["f"], [(1.0,), (math.nan,)], [None]) is None
    assert conv.rows(["d"], [(D("1"),), (D("NaN"),)], [None]) is None
    assert conv.rows(["d"], [(Unloadable("infinity", "date"),)], [None]) is None
