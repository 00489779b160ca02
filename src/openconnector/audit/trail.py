"""The audit trail: append entries inside the writer's transaction, verify, query, export.

One global hash chain. A writer locks the single chain-head row (``UPDATE … RETURNING``: a row
lock on PostgreSQL, the database write lock on SQLite), reserves a seq range, appends its entries,
signs a checkpoint for the group and moves the head — all inside the caller's transaction, so the
entries commit or vanish with the change they describe and concurrent writers queue on the head.
The checkpoint is anchored outside the database after the commit (:meth:`AuditTrail.after_commit`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from openconnector.audit import anchor as anchors
from openconnector.audit.anchor import Checkpoint
from openconnector.audit.entries import AuditChange, Prepared, create_body, header_body, link, prepare, record
from openconnector.audit.keys import SigningKey, load_key
from openconnector.audit.snapshot import snapshot
from openconnector.audit.tables import audit_head
from openconnector.audit.verify import ChainWalker, VerifyResult
from openconnector.jsonutil import canonical, loads
from openconnector.registers.bulk import BulkInsert, param_mark
from openconnector.timeutil import iso, now_iso

log = logging.getLogger("openconnector.audit")

_TRAILS: weakref.WeakKeyDictionary[Engine, AuditTrail] = weakref.WeakKeyDictionary()
_TRAILS_LOCK = threading.Lock()
_insert_entries = BulkInsert("audit_entries", "seq, hash, body, object_id")


@dataclass
class _Pending:
    conn: Connection
    checkpoints: list[Checkpoint]


class AuditTrail:
    """The trail of one database. Get it with :meth:`for_engine`; it is safe to share across threads."""

    #: Benchmarks switch this off to measure what the trail costs; nothing else should.
    enabled: bool = True

    def __init__(
        self,
        engine: Engine,
        *,
        key: SigningKey | None = None,
        anchor: Path | None = None,
        base_dir: Path | None = None,
        use_anchor: bool = True,
    ) -> None:
        self.engine = engine
        self.base_dir = base_dir
        self._key = key
        self.anchor_path = (
            anchor if anchor is not None else (anchors.anchor_path(base_dir) if use_anchor else None)
        )
        self._local = threading.local()
        self._key_lock = threading.Lock()

    @classmethod
    def for_engine(cls, engine: Engine) -> AuditTrail:
        """The shared trail of ``engine`` (key and anchor from the environment, loaded on first use)."""
        with _TRAILS_LOCK:
            trail = _TRAILS.get(engine)
            if trail is None:
                trail = _TRAILS[engine] = cls(engine)
            return trail

    # -- the key ------------------------------------------------------------------------------------

    def key(self, *, create: bool = True) -> SigningKey:
        if self._key is None:
            with self._key_lock:
                if self._key is None:
                    self._key = load_key(base_dir=self.base_dir, create=create)
        return self._key

    # -- writing ------------------------------------------------------------------------------------

    def append(self, conn: Connection, changes: Sequence[AuditChange]) -> None:
        """Append entries inside ``conn``'s transaction: one group per run of changes that share
        actor, run, source, mapping and target (normally the whole list), each group signed."""
        if not changes or not self.enabled:
            return
        spans: list[tuple[tuple[Any, ...], list[Prepared]]] = []
        for c in changes:  # bodies and diffs are built before the chain head is locked
            key = c.header_key()
            if not spans or spans[-1][0] != key:
                spans.append((key, []))
            spans[-1][1].append(prepare(c))
        self._write(conn, spans)

    def append_prepared(self, conn: Connection, header_key: tuple[Any, ...], entries: list[Prepared]) -> None:
        """:meth:`append` for the engine's hot path: one group, entries already prepared."""
        if entries and self.enabled:
            self._write(conn, [(header_key, entries)])

    def _write(self, conn: Connection, spans: list[tuple[tuple[Any, ...], list[Prepared]]]) -> None:
        key = self.key()
        count = sum(len(entries) for _, entries in spans)
        # Driver SQL for the head too: the two Core UPDATEs rebuilt their cache keys on every batch
        # (280 µs together, against 40 µs): it adds up on the small batches queues deliver.
        mark = param_mark(conn)
        head = conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = seq + {mark} WHERE id = 1 RETURNING seq, hash, chain_id", (count,)
        ).first()
        if head is None:
            raise RuntimeError("the audit chain head is missing; run the store migrations")
        prev, chain_id = str(head[1]), str(head[2])
        seq = int(head[0]) - count
        at = now_iso()
        rows: list[tuple[Any, ...]] = []
        groups: list[tuple[Any, ...]] = []
        checkpoints: list[Checkpoint] = []
        sha256 = hashlib.sha256
        for header_key, entries in spans:
            first = seq + 1
            header = canonical(header_body(header_key, first, seq + len(entries), at))
            prev = header_hash = link(prev, header)
            for object_id, body, doc, origin in entries:
                seq += 1
                if body is None:
                    assert doc is not None
                    encoded = create_body(object_id, origin, doc, seq)
                else:
                    body["seq"] = seq
                    encoded = canonical(body)
                prev = sha256(prev.encode() + encoded).hexdigest()
                rows.append((seq, prev, encoded.decode("utf-8"), object_id))
            cp = Checkpoint(chain_id, seq, prev, at, key.key_id, key.sign(chain_id, seq, prev, at))
            groups.append(
                (seq, first, header.decode("utf-8"), header_hash, prev, at, cp.key_id, cp.signature)
            )
            checkpoints.append(cp)
        _insert_entries(conn, rows)
        conn.exec_driver_sql(
            "INSERT INTO audit_checkpoints (seq, first_seq, header, header_hash, hash, created_at, key_id, "
            f"signature) VALUES ({', '.join([mark] * 8)})",
            groups,
        )
        conn.exec_driver_sql(
            f"UPDATE audit_head SET hash = {mark}, updated_at = {mark} WHERE id = 1", (prev, at)
        )
        for cp in checkpoints:
            self._remember(conn, cp)

    def _remember(self, conn: Connection, cp: Checkpoint) -> None:
        pending: _Pending | None = getattr(self._local, "pending", None)
        if pending is None or pending.conn is not conn:
            # Left over from a transaction that rolled back (after_commit never came): never anchor it.
            pending = self._local.pending = _Pending(conn, [])
        pending.checkpoints.append(cp)

    def after_commit(self) -> None:
        """Anchor the checkpoints this thread's committed transaction signed (call after commit)."""
        pending: _Pending | None = getattr(self._local, "pending", None)
        self._local.pending = None
        if pending is None or not pending.checkpoints or self.anchor_path is None:
            return
        try:
            anchors.append(self.anchor_path, pending.checkpoints[-1:])
        except OSError as exc:  # the change is committed; losing one anchor line weakens, not breaks
            log.error("could not append to the audit anchor file %s: %s", self.anchor_path, exc)

    def discard(self) -> None:
        """Forget checkpoints of a transaction that rolled back."""
        self._local.pending = None

    # -- verifying -----------------------------------------------------------------------------------

    def verify(self, engine: Engine | None = None, file: Path | str | None = None) -> VerifyResult:
        """Verify the database's chain, or (``file``) an evidence export without any database."""
        if file is not None:
            from openconnector.audit.export import verify_export

            return verify_export(Path(file), self.key(create=False))
        return self._verify_db(engine or self.engine)

    def _verify_db(self, engine: Engine) -> VerifyResult:
        started = time.perf_counter()
        key = self.key(create=False)
        with engine.connect() as conn:
            row = conn.execute(
                select(audit_head.c.chain_id, audit_head.c.seq).where(audit_head.c.id == 1)
            ).first()
        if row is None:
            raise RuntimeError("the audit chain head is missing; run the store migrations")
        warnings: list[str] = []
        anchor_info: dict[str, Any] | None = None
        newest_anchor = None
        if self.anchor_path is not None:
            # Read before the snapshot starts: a line is written only after its commit, so every
            # anchored checkpoint read here is inside the snapshot unless it was removed.
            anchor_info, newest_anchor = self._anchor_state(str(row.chain_id), int(row.seq), warnings)
        with snapshot(engine) as snap:
            head = snap.head()
            if head is None:
                raise RuntimeError("the audit chain head is missing; run the store migrations")
            chain_id, head_seq, head_hash = head
            walker = ChainWalker(key, chain_id, snap, anchor=newest_anchor)
            for page in snap.entries(0):
                walker.feed(page, snap.groups(page[0][0] - 1, page[-1][0]))
            walker.finish(later=snap.groups(walker.last_seq), head=(head_seq, head_hash))
        return walker.result(source="database", started=started, anchor=anchor_info, warnings=warnings)

    def _anchor_state(
        self, chain_id: str, head_seq: int, warnings: list[str]
    ) -> tuple[dict[str, Any], Checkpoint | None]:
        assert self.anchor_path is not None
        info: dict[str, Any] = {"file": str(self.anchor_path), "seq": None, "at": None}
        try:
            state = anchors.newest(self.anchor_path, chain_id) if self.anchor_path.exists() else None
        except OSError as exc:
            warnings.append(f"cannot read the anchor file {self.anchor_path}: {exc.strerror}")
            return info, None
        if state is None or state.newest is None:
            if head_seq > 0:
                warnings.append(
                    f"the anchor file {self.anchor_path} holds no checkpoint of this chain: truncation of "
                    "the newest entries can only be detected from the database itself"
                )
        else:
            info.update(seq=state.newest.seq, at=state.newest.created_at)
        if state is not None and state.other_chains:
            warnings.append(
                f"the anchor file also holds checkpoints of {len(state.other_chains)} other chain(s); "
                "give each database its own OPENCONNECTOR_AUDIT_ANCHOR"
            )
        if state is not None and state.unreadable:
            warnings.append(f"the anchor file has {state.unreadable} unreadable line(s)")
        return info, state.newest if state is not None else None

    # -- querying ------------------------------------------------------------------------------------

    def history(
        self,
        engine: Engine | None,
        object_id: str,
        *,
        run_id: str | None = None,
        pipeline: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """An object's audit entries, newest first (``since``/``until``: ISO-8601, until exclusive)."""
        since_at = normalise_time(since) if since else None
        until_at = normalise_time(until, end=True) if until else None
        out: list[dict[str, Any]] = []
        with snapshot(engine or self.engine) as snap:
            snap.head()
            for seq, digest, body in snap.object_entries(object_id):
                group = snap.group_of(seq)
                header = loads(group.header) if group is not None and group.first_seq <= seq else {}
                doc = record(header, loads(body))
                doc["seq"], doc["hash"] = seq, digest
                if run_id and not str(doc.get("run_id") or "").startswith(run_id):
                    continue
                if (pipeline and doc.get("pipeline") != pipeline) or (actor and doc.get("actor") != actor):
                    continue
                at = str(doc.get("at") or "")
                if (since_at and at < since_at) or (until_at and at >= until_at):
                    continue
                out.append(doc)
                if limit and len(out) >= limit:
                    break
        return out

    def export(self, engine: Engine | None, start: str, end: str, fmt: str = "json") -> bytes:
        """Entries and checkpoints signed in [start, end), plus a verification of the whole chain."""
        from openconnector.audit.export import export

        return export(self, engine or self.engine, normalise_time(start), normalise_time(end, end=True), fmt)


def normalise_time(value: str, *, end: bool = False) -> str:
    """A date or datetime as the store's ISO-8601 UTC text. A bare date is a UTC day; as ``end``
    (exclusive) it includes that whole day. A datetime without a zone is taken as UTC."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return f"{day.isoformat()}T00:00:00.000000Z"
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return iso(dt)
