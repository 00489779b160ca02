"""Many-row INSERTs: every row lands once, in order, on both backends, whatever the batch size."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from openconnector.registers.bulk import GROUP_ROWS, BulkInsert
from openconnector.registers.db import make_engine


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    e = make_engine(store_url)
    with e.begin() as conn:
        conn.execute(text("CREATE TABLE bulk_t (n INTEGER PRIMARY KEY, name TEXT, note TEXT)"))
    yield e
    e.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """The SQLite store whatever the backend under test: these tests look at its statements."""
    e = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with e.begin() as conn:
        conn.execute(text("CREATE TABLE bulk_t (n INTEGER PRIMARY KEY, name TEXT, note TEXT)"))
    yield e
    e.dispose()


def _rows(n: int) -> list[tuple[object, ...]]:
    return [(i, f"row {i}", None if i % 3 else "ünïcode ✓") for i in range(n)]


def _statements(engine: Engine) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, executemany))

    return seen


@pytest.mark.parametrize("n", [0, 1, 2, GROUP_ROWS - 1, GROUP_ROWS, GROUP_ROWS + 1, 777])
def test_every_row_lands_once_in_order(engine: Engine, n: int) -> None:
    insert = BulkInsert("bulk_t", "n, name, note")
    with engine.begin() as conn:
        insert(conn, _rows(n))
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(text("SELECT n, name, note FROM bulk_t ORDER BY n"))]
    assert got == _rows(n)


def test_sqlite_inserts_groups_of_rows_with_one_statement_each(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    seen = _statements(engine)
    with engine.begin() as conn:
        BulkInsert("bulk_t", "n, name, note")(conn, _rows(2 * GROUP_ROWS + 7))
    inserts = [(s.count("(?, ?, ?)"), many) for s, many in seen if s.startswith("INSERT")]
    assert inserts == [(GROUP_ROWS, False), (GROUP_ROWS, False), (1, True)]  # the 7 left over: executemany


def test_a_low_sqlite_parameter_limit_makes_smaller_groups(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with engine.begin() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        dbapi.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32)  # an old build's tiny limit, in effect
        BulkInsert("bulk_t", "n, name, note")(conn, _rows(100))  # 10 rows (30 values) per statement
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(n) FROM bulk_t")).one() == (100, sum(range(100)))


@pytest.mark.parametrize("n", [1, 2, GROUP_ROWS, GROUP_ROWS + 3])
def test_shared_values_land_on_every_row(engine: Engine, n: int) -> None:
    insert = BulkInsert("bulk_t", "n, name", shared="note")
    with engine.begin() as conn:
        insert(conn, [(i, f"row {i}") for i in range(n)], ("ünïcode ✓",))
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(text("SELECT n, name, note FROM bulk_t ORDER BY n"))]
    assert got == [(i, f"row {i}", "ünïcode ✓") for i in range(n)]


def test_sqlite_binds_shared_values_once_per_statement(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    seen = _statements(engine)
    with engine.begin() as conn:
        BulkInsert("bulk_t", "n, name", shared="note")(
            conn, [(i, "x") for i in range(GROUP_ROWS + 1)], ("s",)
        )
    grouped, rest = [s for s, _ in seen if s.startswith("INSERT")]
    assert grouped.count("?") == 2 * GROUP_ROWS + 1 and "SELECT column1, column2, ?" in grouped
    assert rest.count("?") == 3


def test_the_number_of_shared_values_is_checked(engine: Engine) -> None:
    with pytest.raises(ValueError, match="1 shared values expected, got 0"), engine.begin() as conn:
        BulkInsert("bulk_t", "n, name", shared="note")(conn, [(1, "x")])


def test_a_bad_row_fails_the_insert_and_the_transaction_writes_nothing(engine: Engine) -> None:
    rows = _rows(600)
    rows[400] = rows[10]  # a duplicate key in the second group
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), engine.begin() as conn:
        BulkInsert("bulk_t", "n, name, note")(conn, rows)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bulk_t")).scalar() == 0
