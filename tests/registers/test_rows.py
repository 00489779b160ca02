"""Many-row SELECTs in one step on SQLite: the same values as a plain SELECT, whatever the text."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openconnector.registers import rows
from openconnector.registers.rows import select_rows, sqlite_has_json

TEXTS = [
    "plain",
    "",
    'quote " and \\ backslash',
    "line\nbreak\ttab",
    "ünïcødé ✓ 🚀",
    "\x01 control",
    "nul \x00 inside",
    "null",
]


class Recording:
    """A cursor that notes the statements it runs."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.statements.append(sql)
        return self.cursor.execute(sql, params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    def fetchall(self) -> Any:
        return self.cursor.fetchall()


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, s TEXT)")
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?)",
        [(f"k{i}", i if i % 3 else None, text) for i, text in enumerate(TEXTS)] + [("big", 2**62, None)],
    )
    return conn


def test_sqlite_has_the_json_functions() -> None:
    assert sqlite_has_json()  # this machine's SQLite: the one-step path is the one measured


def test_the_same_values_as_a_plain_select_in_one_statement(db: sqlite3.Connection) -> None:
    plain = {r[0]: tuple(r) for r in db.execute("SELECT k, n, s FROM t").fetchall()}
    cursor = Recording(db.cursor())
    got = select_rows(cursor, True, "k, n, s", "FROM t WHERE k <> ?", ("none",))
    assert {r[0]: tuple(r) for r in got} == plain
    assert len(cursor.statements) == 1 and "json_group_array" in cursor.statements[0]


def test_no_rows_is_an_empty_list(db: sqlite3.Connection) -> None:
    assert select_rows(db.cursor(), True, "k, n", "FROM t WHERE k = ?", ("missing",)) == []


def test_without_the_json_functions_the_plain_select_runs(
    db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "_json_functions", False)
    cursor = Recording(db.cursor())
    got = select_rows(cursor, True, "k, s", "FROM t WHERE k IN (?, ?)", ("k1", "k4"))
    assert sorted(tuple(r) for r in got) == [("k1", TEXTS[1]), ("k4", TEXTS[4])]
    assert "json_group_array" not in cursor.statements[0]
