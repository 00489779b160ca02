"""SQLite WAL checkpoints in a background thread, beside the batch writer instead of inside it.

With ``wal_autocheckpoint`` alone, the commit that crosses the bound copies the whole WAL into the
database file and syncs it before it returns: all of that on the pipeline's critical path. The
``sqlite3`` module releases the interpreter lock while SQLite works, so a passive checkpoint run
from another thread copies pages on the second core while the pipeline maps and writes the next
batch (first loads 4-17% faster, see bench/README.md). Passive checkpoints never block a writer,
and a writer starts the WAL over from its beginning once everything in it has been copied, which a
checkpoint soon after each commit lets it do. ``wal_autocheckpoint`` stays set: the backstop for
when this thread falls behind (a long reader, a busy machine).
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from sqlalchemy import Engine

log = logging.getLogger(__name__)

#: at most one passive checkpoint per this many seconds (each one syncs the database file)
INTERVAL_S = 0.2
#: the thread ends after this long without a commit (the next commit starts it again)
IDLE_S = 5.0


class Checkpointer:
    """Runs passive checkpoints of one SQLite database file; :meth:`poke` it after a commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # passive checkpoints run

    def poke(self) -> None:
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name=f"openconnector-checkpoint {self.path.name}", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread (after the checkpoint in progress) and close its connection, so the
        process's last connection can fold the WAL back into the database file when it closes."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        try:  # mode=rw: never create a database file that is not (or no longer) there
            uri = f"{self.path.as_uri()}?mode=rw"  # percent-encoded: '#', '?' and '%' in folder names
            conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        except sqlite3.Error as exc:  # the writer's own autocheckpoint still bounds the WAL
            log.debug("no background checkpoints for %s: %s", self.path, exc)
            return
        try:
            last = 0.0
            while self._wake.wait(IDLE_S) and not self._stop.is_set():
                self._wake.clear()
                wait = last + INTERVAL_S - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:
                    log.debug("background checkpoint of %s failed: %s", self.path, exc)
                last = time.monotonic()
        finally:
            conn.close()


_checkpointers: weakref.WeakValueDictionary[Path, Checkpointer] = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


def database_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database).resolve()


def checkpointer_for(engine: Engine) -> Checkpointer | None:
    """The checkpointer of ``engine``'s database: one per file and process, ``None`` unless the
    engine is on an SQLite file."""
    path = database_file(engine)
    if path is None:
        return None
    with _registry_lock:
        found = _checkpointers.get(path)
        if found is None:
            found = _checkpointers[path] = Checkpointer(path)
        return found


def stop_checkpointer(engine: Engine) -> None:
    path = database_file(engine)
    with _registry_lock:
        found = _checkpointers.get(path) if path is not None else None
    if found is not None:
        found.stop()


@atexit.register
def _stop_all() -> None:
    with _registry_lock:
        running = list(_checkpointers.values())
    for checkpointer in running:
        checkpointer.stop(timeout=5.0)
