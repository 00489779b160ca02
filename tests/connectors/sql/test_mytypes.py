"""The C-speed PyMySQL date decoders give exactly what PyMySQL's own give, and are installed on the
connector's connections (the type tests in test_types_mysql.py then read through them)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from pymysql import converters
from pymysql.constants import FIELD_TYPE

from openconnector.connectors.sql.convert import Converter, Unconvertible, mysql_date
from openconnector.connectors.sql.mytypes import decode_date, decode_datetime, install

from .dbs import Db

SAMPLES = [
    "2024-05-01 10:30:00",
    "2024-05-01 10:30:00.5",
    "2024-05-01 10:30:00.123456",
    "2024-05-01 10:30:00.1234567",  # more digits than MySQL sends: PyMySQL refuses, so do we
    "0000-00-00 00:00:00",
    "2024-02-30 10:00:00",
    "0001-01-01 00:00:00",
    "9999-12-31 23:59:59.999999",
    "2024-05-01T10:30:00",
    "2024-05-01",
    "2024-05-01 10:30:00+01:00",
    "2024-05-01 10:30:00.1+01",
    "2024-05-01 10:30:00Z",
    "2024-05-01 10:30:00,5",
    "2024-5-01 10:30:00",
    "2024-05-01 24:00:00",
    "2024-05-01 10:30:00.",
    "2024-05-01 10:30",
    b"2024-05-01 10:30:00",
]


def _outcome(fn: Any, value: Any) -> Any:
    try:
        result = fn(value)
    except Exception as exc:  # PyMySQL's own decoders raise on some garbage
        return type(exc)
    return type(result), result


@pytest.mark.parametrize("text", SAMPLES)
def test_decoders_match_pymysql(text: Any) -> None:
    assert _outcome(decode_datetime, text) == _outcome(converters.convert_datetime, text)
    day = text[:10]
    assert _outcome(decode_date, day) == _outcome(converters.convert_date, day)


def test_decoders_match_pymysql_on_random_near_dates() -> None:
    rnd = random.Random(7)
    for _ in range(20_000):
        text = (
            f"{rnd.randint(0, 9999):04d}-{rnd.randint(0, 13):02d}-{rnd.randint(0, 32):02d} "
            f"{rnd.randint(0, 25):02d}:{rnd.randint(0, 61):02d}:{rnd.randint(0, 61):02d}"
        )
        if rnd.random() < 0.5:
            text += "." + str(rnd.randint(0, 10 ** rnd.randint(1, 7)))
        assert _outcome(decode_datetime, text) == _outcome(converters.convert_datetime, text), text
        assert _outcome(decode_date, text[:10]) == _outcome(converters.convert_date, text[:10]), text


def test_install_replaces_only_pymysql_defaults() -> None:
    class Conn:
        decoders = {
            FIELD_TYPE.DATETIME: converters.convert_datetime,
            FIELD_TYPE.TIMESTAMP: str,  # the user's own (connect_args conv): kept
            FIELD_TYPE.DATE: converters.convert_date,
        }

    conn = Conn()
    install(conn)
    assert conn.decoders == {
        FIELD_TYPE.DATETIME: decode_datetime,
        FIELD_TYPE.TIMESTAMP: str,
        FIELD_TYPE.DATE: decode_date,
    }
    install(object())  # not a PyMySQL connection: nothing to do


def test_mysql_date_column_and_value_agree() -> None:
    conv = mysql_date("datetime")
    when = dt.datetime(2024, 5, 1, 10, 30, 0, 5)
    assert conv.column([when, None, when]) == [when.isoformat(), None, when.isoformat()]
    assert conv.column([dt.date(2024, 2, 29)]) == ["2024-02-29"]
    with pytest.raises(Unconvertible, match="'0000-00-00 00:00:00' is not a valid datetime"):
        conv.column([when, "0000-00-00 00:00:00"])
    names = ["id", "d"]
    rows = [(1, when), (2, "0000-00-00 00:00:00")]
    assert Converter().rows(names, rows, [None, conv]) is None  # the caller goes row by row
    assert Converter().rows(names, rows[:1], [None, conv]) == [{"id": 1, "d": when.isoformat()}]


async def test_connector_connections_use_the_fast_decoders(my: Db) -> None:
    conn = my.connector()
    try:
        with conn.engine.connect() as c:
            decoders = c.connection.dbapi_connection.decoders  # type: ignore[union-attr]
        assert decoders[FIELD_TYPE.DATETIME] is decode_datetime
        assert decoders[FIELD_TYPE.TIMESTAMP] is decode_datetime
        assert decoders[FIELD_TYPE.DATE] is decode_date
    finally:
        await conn.aclose()
