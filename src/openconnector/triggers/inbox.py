"""The webhook attempt log, which is also the inbox of records answered with 202 but not yet run.

Every delivery is recorded (accepted or not, with why). An accepted delivery that carries records
keeps its raw body (``state = pending``) until the run that processes it has finished; if the
server dies in between, :meth:`WebhookInbox.claim_stale` hands the body to a new run later.
Processing a body twice is harmless (runs are idempotent), losing it is not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from openconnector.ids import uuid7
from openconnector.registers import tables as t
from openconnector.registers.store import Page
from openconnector.timeutil import iso, now, now_iso

PENDING, DONE, ORPHANED = "pending", "done", "orphaned"


class Replayed(Exception):
    """This signature was accepted before for this pipeline."""


@dataclass(slots=True)
class StaleDelivery:
    id: str
    pipeline: str
    run_id: str | None
    body: str


class WebhookInbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # -- writing: rows are built here, written in groups (one transaction for many deliveries) ------

    @staticmethod
    def refused_row(
        pipeline: str,
        outcome: str,
        status_code: int,
        message: str,
        *,
        remote: str | None = None,
        body_bytes: int = 0,
        signed_at: int | None = None,
    ) -> dict[str, Any]:
        return _row(
            pipeline=pipeline[:200],
            outcome=outcome,
            status_code=status_code,
            message=message[:2000],
            remote=remote,
            body_bytes=body_bytes,
            signed_at=signed_at,
        )

    @staticmethod
    def accepted_row(
        pipeline: str,
        *,
        signature: str,
        signed_at: int,
        run_id: str | None,
        records: int | None,
        body: str | None,
        remote: str | None,
        body_bytes: int,
    ) -> dict[str, Any]:
        """An accepted delivery; ``body`` (kept until its run is done) when it carries records."""
        return _row(
            pipeline=pipeline,
            outcome="accepted",
            status_code=202,
            signature=signature,
            signed_at=signed_at,
            remote=remote,
            body_bytes=body_bytes,
            records=records,
            run_id=run_id,
            state=PENDING if body is not None else None,
            body=body,
        )

    def write_many(self, rows: list[dict[str, Any]]) -> list[bool]:
        """Insert rows in one transaction; ``False`` for a row whose signature was accepted before
        (a replay). A replay in the group costs a retry of that group row by row."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.webhook_attempts), rows)
            return [True] * len(rows)
        except IntegrityError:
            pass
        results = []
        for row in rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(t.webhook_attempts), [row])
                results.append(True)
            except IntegrityError:
                results.append(False)
        return results

    async def write(self, row: dict[str, Any]) -> bool:
        """Write one row together with whatever other deliveries are being written meanwhile
        (group commit): on SQLite a transaction per webhook would queue behind every batch the
        engine commits. ``False``: the row's signature was accepted before."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._pending.append((row, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                results = await asyncio.to_thread(self.write_many, [row for row, _ in group])
            except Exception as exc:
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), ok in zip(group, results, strict=True):
                if not fut.done():
                    fut.set_result(ok)

    def record(self, pipeline: str, outcome: str, status_code: int, message: str, **kw: Any) -> str:
        """A refused delivery, written at once (for callers without an event loop)."""
        row = self.refused_row(pipeline, outcome, status_code, message, **kw)
        self.write_many([row])
        return str(row["id"])

    def accept(self, pipeline: str, **kw: Any) -> str:
        """An accepted delivery, written at once; :class:`Replayed` if its signature was seen."""
        row = self.accepted_row(pipeline, **kw)
        if not self.write_many([row])[0]:
            raise Replayed(pipeline)
        return str(row["id"])

    def done(self, run_id: str) -> int:
        """The run that held these deliveries has finished: drop their bodies."""
        wa = t.webhook_attempts
        with self.engine.begin() as conn:
            res = conn.execute(
                update(wa).where(wa.c.run_id == run_id, wa.c.state == PENDING).values(state=DONE, body=None)
            )
        return res.rowcount or 0

    def claim_stale(
        self, older_than_s: float, *, exclude: set[str] | None = None, limit: int = 1000
    ) -> list[StaleDelivery]:
        """Pending deliveries older than ``older_than_s`` (their server died, or never got to them),
        moved to one new run id per pipeline. Each row is claimed with a conditional UPDATE, so two
        servers never both take it; ``exclude`` names run ids the caller still has queued."""
        new_run_id: dict[str, str] = {}
        wa = t.webhook_attempts
        cutoff = iso(now() - timedelta(seconds=older_than_s))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(wa.c.id, wa.c.pipeline, wa.c.run_id)
                .where(wa.c.state == PENDING, wa.c.received_at < cutoff)
                .order_by(wa.c.received_at)
                .limit(limit)
            ).all()
        claimed: list[StaleDelivery] = []
        for row in rows:
            if exclude and row.run_id in exclude:
                continue  # queued in this process: it is on its way
            target = new_run_id.setdefault(row.pipeline, uuid7())
            with self.engine.begin() as conn:
                res = conn.execute(
                    update(wa)
                    .where(wa.c.id == row.id, wa.c.state == PENDING, wa.c.run_id == row.run_id)
                    .values(run_id=target, received_at=now_iso())
                )
                if res.rowcount != 1:
                    continue
                body = conn.execute(select(wa.c.body).where(wa.c.id == row.id)).scalar_one()
            claimed.append(StaleDelivery(row.id, row.pipeline, target, body or ""))
        return claimed

    def orphan(self, message: str, *, attempt_id: str | None = None, run_id: str | None = None) -> None:
        """Deliveries that cannot be run (their pipeline left the configuration, the stored body no
        longer fits its ``read.records``). The body stays, so nothing is lost; an operator decides."""
        wa = t.webhook_attempts
        cond = wa.c.id == attempt_id if attempt_id is not None else wa.c.run_id == run_id
        with self.engine.begin() as conn:
            conn.execute(
                update(wa).where(cond, wa.c.state == PENDING).values(state=ORPHANED, message=message[:2000])
            )

    def list(self, pipeline: str, *, limit: int = 20, offset: int = 0) -> Page:
        wa = t.webhook_attempts
        cols = [c for c in wa.c if c.name not in ("body", "signature")]
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(wa).where(wa.c.pipeline == pipeline)
            ).scalar_one()
            rows = conn.execute(
                select(*cols)
                .where(wa.c.pipeline == pipeline)
                .order_by(wa.c.received_at.desc(), wa.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
        return Page([_attempt(r) for r in rows], total, limit, offset)


_COLUMNS = [c.name for c in t.webhook_attempts.c]


def _row(**values: Any) -> dict[str, Any]:
    """Every column, so a group of rows is one executemany."""
    row = dict.fromkeys(_COLUMNS)
    row.update(id=uuid7(), received_at=now_iso(), body_bytes=0)
    row.update(values)
    return row


def _attempt(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "pipeline": row.pipeline,
        "received_at": row.received_at,
        "outcome": row.outcome,
        "status_code": row.status_code,
        "message": row.message,
        "signed_at": row.signed_at,
        "remote": row.remote,
        "body_bytes": row.body_bytes,
        "records": row.records,
        "run_id": row.run_id,
        "state": row.state,
    }
