"""Background WAL checkpoints on a real SQLite file: they run after commits, let the writer start
the WAL over (so it stays small without the writer checkpointing), stop cleanly so the last
connection folds the WAL back into the database, and never create a database file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from openconnector.registers import Store
from openconnector.registers.checkpoint import Checkpointer, checkpointer_for
from openconnector.registers.db import make_engine


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _wal_frames(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_checkpoints_keep_the_wal_small_without_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{db}")
    checkpointer = checkpointer_for(engine)
    assert checkpointer is not None and checkpointer is checkpointer_for(engine)
    blob = "x" * 200_000
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # only the background thread checkpoints
        conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)"))
    for n in range(8):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:n, :body)"), {"n": n, "body": blob * 5})
        done = checkpointer.checkpoints
        checkpointer.poke()
        _until(lambda done=done: checkpointer.checkpoints > done)  # type: ignore[misc]
    # 8 MB went through the WAL; it was started over after each checkpoint, so it holds one write
    assert _wal_frames(db) < 400, _wal_frames(db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 8
    checkpointer.stop()
    engine.dispose()


def test_store_dispose_stops_it_and_the_wal_is_folded_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENCONNECTOR_DATABASE_URL", raising=False)
    folder = tmp_path / "a #1 ?x 100%"  # characters a file: URI would otherwise misread
    folder.mkdir()
    store = Store(base_dir=folder)  # the default store of a project in that folder
    db = folder / ".openconnector" / "openconnector.db"
    checkpointer = checkpointer_for(store.engine)
    assert checkpointer is not None
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    checkpointer.poke()
    _until(lambda: checkpointer.checkpoints > 0)
    store.dispose()
    assert not Path(f"{db}-wal").exists()  # the last connection to close checkpointed and removed it
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_missing_database_is_never_created(tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "gone.db")
    checkpointer.poke()
    checkpointer.stop()
    assert not (tmp_path / "gone.db").exists() and checkpointer.checkpoints == 0


def test_only_sqlite_files_get_one(tmp_path: Path, pg_url: str) -> None:
    assert checkpointer_for(make_engine("sqlite:///:memory:")) is None
    assert checkpointer_for(make_engine(pg_url)) is None
