"""SQLite connection settings of the embedded store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from openconnector.registers.db import CACHE_KB, make_engine


def test_a_new_sqlite_store_uses_wal_16k_pages_and_bounded_cache_and_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            assert conn.execute(text("PRAGMA page_size")).scalar() == 16384
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -CACHE_KB  # KiB, per connection
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 2048  # 32 MiB
    finally:
        engine.dispose()


def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE t (x INTEGER)")
    old.commit()
    old.close()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA page_size")).scalar() == 4096
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 8192  # the same 32 MiB
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()
