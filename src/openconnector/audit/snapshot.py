"""Reading the whole trail in one consistent snapshot, fast: raw DB-API cursors, keyset pages.

Verification reads hundreds of thousands of rows; SQLAlchemy's row processing would cost more than
the hashing. A snapshot (``BEGIN`` on SQLite, REPEATABLE READ on PostgreSQL) keeps a concurrent
writer from showing up half-way as "entries without a checkpoint".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Engine

from openconnector.audit.anchor import Checkpoint
from openconnector.audit.verify import Group

PAGE = 20_000
_GROUP = (
    "SELECT seq, first_seq, header, header_hash, hash, created_at, key_id, signature FROM audit_checkpoints"
)


class Snapshot:
    """A read-only transaction on a raw driver connection."""

    def __init__(self, cursor: Any, placeholder: str, chain_id: str = "") -> None:
        self.cur = cursor
        self.ph = placeholder
        self.chain_id = chain_id

    def _q(self, sql: str, *params: Any) -> list[Any]:
        self.cur.execute(sql.replace("?", self.ph), params)
        return list(self.cur.fetchall())

    def head(self) -> tuple[str, int, str] | None:
        rows = self._q("SELECT chain_id, seq, hash FROM audit_head WHERE id = ?", 1)
        if not rows:
            return None
        self.chain_id = str(rows[0][0])
        return self.chain_id, int(rows[0][1]), str(rows[0][2])

    def entries(self, after: int, until: int | None = None) -> Iterator[list[Any]]:
        """Pages of ``(seq, hash, body, object_id)`` with seq > ``after`` (and <= ``until``)."""
        base = "SELECT seq, hash, body, object_id FROM audit_entries WHERE seq > ?"
        while True:
            if until is None:
                page = self._q(f"{base} ORDER BY seq LIMIT ?", after, PAGE)
            else:
                page = self._q(f"{base} AND seq <= ? ORDER BY seq LIMIT ?", after, until, PAGE)
            if not page:
                return
            yield page
            after = page[-1][0]
            if len(page) < PAGE:
                return

    def object_entries(self, object_id: str) -> list[tuple[int, str, str]]:
        """``(seq, hash, body)`` of one object's entries, newest first."""
        rows = self._q(
            "SELECT seq, hash, body FROM audit_entries WHERE object_id = ? ORDER BY seq DESC", object_id
        )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def _group(self, r: Any) -> Group:
        cp = Checkpoint(self.chain_id, int(r[0]), r[4], r[5], r[6], r[7])
        return Group(int(r[1]), r[2], r[3], cp)

    def groups(self, after: int, until: int | None = None) -> list[Group]:
        """Groups that end after ``after`` and start at or before ``until``."""
        if until is None:
            rows = self._q(f"{_GROUP} WHERE seq > ? ORDER BY seq", after)
        else:
            rows = self._q(f"{_GROUP} WHERE seq > ? AND first_seq <= ? ORDER BY seq", after, until)
        return [self._group(r) for r in rows]

    def group_of(self, seq: int) -> Group | None:
        rows = self._q(f"{_GROUP} WHERE seq >= ? ORDER BY seq LIMIT 1", seq)
        return self._group(rows[0]) if rows else None

    def span(self, start: str, end: str) -> tuple[int, int] | None:
        """The seq range of the groups whose checkpoint was signed in [start, end)."""
        rows = self._q(
            "SELECT MIN(first_seq), MAX(seq) FROM audit_checkpoints WHERE created_at >= ? AND created_at < ?",
            start,
            end,
        )
        if not rows or rows[0][0] is None:
            return None
        return int(rows[0][0]), int(rows[0][1])

    # -- the error path's random access (Lookup) ---------------------------------------------------

    def body_seq_at(self, seq: int) -> int | None:
        rows = self._q("SELECT body FROM audit_entries WHERE seq = ?", seq)
        try:
            value = orjson.loads(rows[0][0]).get("seq") if rows else None
        except (orjson.JSONDecodeError, AttributeError):
            return None
        return value if isinstance(value, int) else None

    def object_id_at(self, seq: int) -> str | None:
        rows = self._q("SELECT object_id FROM audit_entries WHERE seq = ?", seq)
        return str(rows[0][0]) if rows else None


@contextmanager
def snapshot(engine: Engine) -> Iterator[Snapshot]:
    raw = engine.raw_connection()
    dialect = engine.dialect.name
    driver: Any = raw.driver_connection
    try:
        if dialect == "sqlite":
            old = driver.isolation_level
            driver.isolation_level = None  # we issue BEGIN ourselves so every read sees one snapshot
            cur = driver.cursor()
            cur.execute("BEGIN")
            try:
                yield Snapshot(cur, "?")
            finally:
                cur.execute("ROLLBACK")
                driver.isolation_level = old
        else:
            cur = raw.cursor()
            if dialect == "postgresql":
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            try:
                yield Snapshot(cur, "%s")
            finally:
                raw.rollback()
    finally:
        raw.close()
