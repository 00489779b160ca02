"""Telling a record the store refuses from a store that fails, and halving batches in order."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from openconnector.connectors.base import Batch, RecordError
from openconnector.pipelines.refused import halves, has_nul, refused, size, store_message, without_nul


def _wrapped(cls: type[sa_exc.DBAPIError], orig: Exception) -> sa_exc.DBAPIError:
    return cls("INSERT INTO objects VALUES (?)", ("secret record data",), orig)


def test_data_errors_are_refusals_environment_errors_are_not() -> None:
    assert refused(_wrapped(sa_exc.DataError, sqlite3.DataError("value out of range")))
    assert refused(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    assert refused(TypeError("Type is not JSON serializable: object"))
    assert not refused(_wrapped(sa_exc.OperationalError, sqlite3.OperationalError("disk I/O error")))
    assert not refused(_wrapped(sa_exc.OperationalError, sqlite3.OperationalError("database is locked")))
    assert not refused(_wrapped(sa_exc.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not refused(RuntimeError("bug"))

    class DataError(Exception):  # a driver's own, raised before SQLAlchemy wraps it (psycopg: NUL)
        pass

    assert refused(DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))


def test_the_message_is_the_databases_without_the_statement() -> None:
    msg = store_message(_wrapped(sa_exc.DataError, sqlite3.DataError("bad value\nDETAIL: here\nCONTEXT: x")))
    assert msg == "DataError: bad value DETAIL: here"
    assert "secret" not in msg and "INSERT" not in msg


def test_halves_keep_order_meta_and_reader_errors() -> None:
    err = RecordError(raw="a,b", error="bad row", where="f.csv line 2")
    batch = Batch(records=[{"id": i} for i in range(5)], meta=[{"row": i} for i in range(5)], errors=[err])
    first, second = halves(batch)
    assert first.errors == [err] and [r["id"] for r in first.records] == [0, 1]
    assert first.meta == [{"row": 0}, {"row": 1}] and second.meta == [{"row": i} for i in (2, 3, 4)]
    assert size(first) + size(second) == size(batch) == 6 and second.errors == []
    assert first.ack is None and first.where == batch.where
    one, other = halves(Batch(records=[{"id": 1}]))
    assert size(one) == 0 and size(other) == 1 and other.meta is None


def test_nul_characters_become_visible_text() -> None:
    value = {"a\x00": ["x\x00y", 1, None], "b": "ok"}
    assert has_nul(value) and not has_nul(without_nul(value))
    assert not has_nul(("a", {"b": [1, "c"]}, None)) and has_nul(("a", None, "x\x00"))
    assert without_nul(value) == {"a\\u0000": ["x\\u0000y", 1, None], "b": "ok"}
