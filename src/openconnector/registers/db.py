"""Database engine creation: SQLite by default (WAL, tuned pragmas), PostgreSQL via URL.

The default lives at ``.openconnector/openconnector.db`` under the working directory so a new user
needs no setup; production sets ``OPENCONNECTOR_DATABASE_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DEFAULT_DIR = ".openconnector"
DEFAULT_FILE = "openconnector.db"


def database_url(url: str | None = None, base_dir: Path | None = None) -> str:
    """Resolve the store URL: explicit, ``$OPENCONNECTOR_DATABASE_URL``, or the SQLite default."""
    url = url or os.environ.get("OPENCONNECTOR_DATABASE_URL")
    if url:
        parsed = make_url(url)
        # Plain postgresql:// means psycopg 3 here; we do not ship psycopg2.
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.render_as_string(hide_password=False)
    folder = (base_dir or Path.cwd()) / DEFAULT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # Quoted: a '?' or '%' in the project's folder name would otherwise be read as URL syntax.
    return URL.create("sqlite", database=str(folder / DEFAULT_FILE)).render_as_string()


#: each store connection's SQLite page cache (KiB)
CACHE_KB = 2048


def _page_size(cur: Any) -> int:
    cur.execute("PRAGMA page_size")
    return int(cur.fetchone()[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # 16 KB pages for a new database (an existing one keeps its size): a bulk load of objects,
    # contracts and audit entries splits fewer pages and makes fewer write calls — ~5% faster
    # 1,000,000-row first loads, at the same cache size in bytes and the same WAL bound.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # SQLite's own default, 2 MB a connection: runs append, and read back contracts and objects
    # scattered across tables far bigger than any cache (the OS keeps the file's pages). Against
    # 8 MB, REST runs took the same time (alternating pairs: (a) 4.04 / 4.05 s, (b) 1.83 / 1.84 s,
    # (c) 2.82 / 2.81 s medians) and a first load peaked 6 MB lower; the writer process, which
    # only appends, had measured 5% faster with it.
    cur.execute(f"PRAGMA cache_size=-{CACHE_KB}")
    cur.execute("PRAGMA temp_store=MEMORY")
    # In pages: the WAL is checkpointed at 32 MiB whatever the page size (2,048 x 16 KiB). Batch
    # writers have a background thread checkpoint soon after each commit (registers/checkpoint.py);
    # this bound is what a connection does itself when that thread falls behind.
    cur.execute(f"PRAGMA wal_autocheckpoint={32 * 1024 * 1024 // _page_size(cur)}")
    cur.close()


def make_engine(url: str | None = None, base_dir: Path | None = None) -> Engine:
    resolved = database_url(url, base_dir)
    if resolved.startswith("sqlite"):
        engine = create_engine(resolved, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(resolved, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", _postgresql_json_as_text)
    return engine


def _postgresql_json_as_text(dbapi_conn: Any, _record: Any) -> None:
    """JSON and JSONB columns come back as their text, as on SQLite, and are decoded by orjson in
    one place (``store.decode``). psycopg would parse them itself, and hand a JSON string back as a
    bare ``str`` that cannot be told from encoded text: a quarantined CSV row (``"Ann,5,x"``) was
    unreadable on PostgreSQL."""
    from psycopg.types.string import TextLoader

    for name in ("json", "jsonb"):
        dbapi_conn.adapters.register_loader(name, TextLoader)


def safe_url(engine: Engine) -> str:
    """The engine's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)
