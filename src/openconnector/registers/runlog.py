"""Runs, the per-record run log, quarantine and per-pipeline state (cursor, connector state, lock).

The lock makes "one run per pipeline at a time" hold across processes (two servers, a server and
the CLI): it is a row in the database, taken with a conditional UPDATE, with an expiry that the
running process keeps extending so a crashed holder does not block the pipeline forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from openconnector import jsonutil
from openconnector.registers import tables as t
from openconnector.registers.store import NotFound, Page, decode
from openconnector.timeutil import iso, now, now_iso

OUTCOMES = ("created", "updated", "unchanged", "filtered", "quarantined", "failed", "deleted")


def empty_counts() -> dict[str, int]:
    return {"read": 0, **{k: 0 for k in OUTCOMES}}


def run_document(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "pipeline": row.pipeline,
        "trigger": row.trigger,
        "status": row.status,
        "dry_run": bool(row.dry_run),
        "counts": decode(row.counts),
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "duration_s": float(row.duration_s) if row.duration_s is not None else None,
        "errors": decode(row.errors),
        "warnings": decode(row.warnings),
    }


@dataclass
class PipelineState:
    cursor: Any = None
    connector_state: dict[str, Any] = field(default_factory=dict)
    last_read: int | None = None


class PipelineBusy(RuntimeError):
    """Another run of this pipeline holds the lock."""

    def __init__(self, pipeline: str, run_id: str) -> None:
        super().__init__(f"pipeline {pipeline!r} is already running (run {run_id}); not started twice")
        self.pipeline = pipeline
        self.run_id = run_id


class RunLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- runs -------------------------------------------------------------------------------------

    def start(self, run_id: str, pipeline: str, trigger: str, *, dry_run: bool = False) -> str:
        started = now_iso()
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.runs).values(
                    id=run_id,
                    pipeline=pipeline,
                    trigger=trigger,
                    status="running",
                    counts=jsonutil.dumps_str(empty_counts()),
                    errors="[]",
                    warnings="[]",
                    started_at=started,
                    dry_run=int(dry_run),
                )
            )
        return started

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        counts: dict[str, int],
        errors: list[dict[str, Any]],
        warnings: list[str],
        duration_s: float,
    ) -> str:
        finished = now_iso()
        with self.engine.begin() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(
                    status=status,
                    counts=jsonutil.dumps_str(counts),
                    errors=jsonutil.dumps_str(errors),
                    warnings=jsonutil.dumps_str(warnings),
                    finished_at=finished,
                    duration_s=f"{duration_s:.3f}",
                )
            )
        return finished

    def progress(self, run_id: str, counts: dict[str, int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.runs).where(t.runs.c.id == run_id).values(counts=jsonutil.dumps_str(counts))
            )

    def get(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).first()
            if row is None:
                # Allow unambiguous id prefixes, as people copy them from tables.
                rows = conn.execute(select(t.runs).where(t.runs.c.id.like(f"{run_id}%")).limit(2)).all()
                if len(rows) != 1:
                    raise NotFound(f"run {run_id} does not exist")
                row = rows[0]
        return run_document(row)

    def list(
        self, *, pipeline: str | None = None, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> Page:
        conds = []
        if pipeline:
            conds.append(t.runs.c.pipeline == pipeline)
        if status:
            conds.append(t.runs.c.status == status)
        where = and_(*conds) if conds else None
        q = select(t.runs)
        cq = select(func.count()).select_from(t.runs)
        if where is not None:
            q, cq = q.where(where), cq.where(where)
        with self.engine.connect() as conn:
            total = conn.execute(cq).scalar_one()
            rows = conn.execute(q.order_by(t.runs.c.started_at.desc()).limit(limit).offset(offset)).all()
        return Page([run_document(r) for r in rows], total, limit, offset)

    def records(self, run_id: str, *, outcome: str | None = None, limit: int = 100, offset: int = 0) -> Page:
        """The run's per-record log (stored one row per batch), optionally one outcome only."""
        rr = t.run_records
        results: list[dict[str, Any]] = []
        total = 0
        with self.engine.connect() as conn:
            for row in conn.execute(select(rr.c.entries).where(rr.c.run_id == run_id).order_by(rr.c.seq)):
                for origin, out, object_id, error in decode(row.entries):
                    if outcome is not None and out != outcome:
                        continue
                    if offset <= total < offset + limit:
                        results.append(
                            {"origin_id": origin, "outcome": out, "object_id": object_id, "error": error}
                        )
                    total += 1
        return Page(results, total, limit, offset)

    def mark_interrupted(self, pipeline: str | None = None) -> int:
        """Runs left 'running' by a dead process become 'failed' with a clear error."""
        cond = t.runs.c.status == "running"
        if pipeline:
            cond = and_(cond, t.runs.c.pipeline == pipeline)
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.runs)
                .where(cond)
                .values(
                    status="failed",
                    finished_at=now_iso(),
                    errors=jsonutil.dumps_str([{"message": "run was interrupted (process stopped)"}]),
                )
            )
        return res.rowcount or 0

    # -- quarantine ---------------------------------------------------------------------------------

    def quarantined(
        self, *, pipeline: str | None = None, status: str = "open", limit: int = 100, offset: int = 0
    ) -> Page:
        q = t.quarantine
        where = q.c.status == status
        if pipeline:
            where = and_(where, q.c.pipeline == pipeline)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(q).where(where)).scalar_one()
            rows = conn.execute(
                select(q).where(where).order_by(q.c.created_at).limit(limit).offset(offset)
            ).all()
        return Page(
            [
                {
                    "id": r.id,
                    "pipeline": r.pipeline,
                    "run_id": r.run_id,
                    "origin_id": r.origin_id,
                    "stage": r.stage,
                    "errors": decode(r.errors),
                    "raw": decode(r.raw),
                    "meta": decode(r.meta),
                    "mapping": r.mapping,
                    "mapping_version": r.mapping_version,
                    "created_at": r.created_at,
                    "status": r.status,
                }
                for r in rows
            ],
            total,
            limit,
            offset,
        )

    # -- state and lock -----------------------------------------------------------------------------

    def _ensure_state_row(self, pipeline: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(
                select(t.pipeline_state.c.pipeline).where(t.pipeline_state.c.pipeline == pipeline)
            ).first():
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.pipeline_state).values(pipeline=pipeline, updated_at=now_iso()))
        except IntegrityError:
            pass  # created concurrently

    def acquire(self, pipeline: str, run_id: str, ttl_s: float = 120.0) -> None:
        """Take the pipeline's run lock or raise :class:`PipelineBusy`."""
        self._ensure_state_row(pipeline)
        ps = t.pipeline_state
        current = now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(ps)
                .where(
                    ps.c.pipeline == pipeline,
                    or_(ps.c.lock_run_id.is_(None), ps.c.lock_expires_at < iso(current)),
                )
                .values(lock_run_id=run_id, lock_expires_at=iso(current + timedelta(seconds=ttl_s)))
            )
            if res.rowcount == 1:
                return
            holder = conn.execute(select(ps.c.lock_run_id).where(ps.c.pipeline == pipeline)).scalar_one()
        raise PipelineBusy(pipeline, holder)

    def extend(self, pipeline: str, run_id: str, ttl_s: float = 120.0) -> None:
        ps = t.pipeline_state
        with self.engine.begin() as conn:
            conn.execute(
                update(ps)
                .where(ps.c.pipeline == pipeline, ps.c.lock_run_id == run_id)
                .values(lock_expires_at=iso(now() + timedelta(seconds=ttl_s)))
            )

    def release(self, pipeline: str, run_id: str) -> None:
        ps = t.pipeline_state
        with self.engine.begin() as conn:
            conn.execute(
                update(ps)
                .where(ps.c.pipeline == pipeline, ps.c.lock_run_id == run_id)
                .values(lock_run_id=None, lock_expires_at=None)
            )

    def running(self, pipeline: str) -> str | None:
        ps = t.pipeline_state
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ps.c.lock_run_id, ps.c.lock_expires_at).where(ps.c.pipeline == pipeline)
            ).first()
        if row is None or row.lock_run_id is None or (row.lock_expires_at or "") < now_iso():
            return None
        return str(row.lock_run_id)

    def state(self, pipeline: str) -> PipelineState:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.pipeline_state).where(t.pipeline_state.c.pipeline == pipeline)
            ).first()
        if row is None:
            return PipelineState()
        return PipelineState(
            cursor=(decode(row.cursor) or {}).get("value"),
            connector_state=decode(row.connector_state) or {},
            last_read=row.last_read,
        )

    def save_state(
        self,
        pipeline: str,
        *,
        cursor: Any = ...,
        connector_state: dict[str, Any] | None = None,
        last_read: int | None = None,
        conn: Any = None,
    ) -> None:
        self._ensure_state_row(pipeline)
        values: dict[str, Any] = {"updated_at": now_iso()}
        if cursor is not ...:
            # Wrapped: PostgreSQL hands JSONB scalars back parsed, which a bare string would make ambiguous.
            values["cursor"] = None if cursor is None else jsonutil.dumps_str({"value": cursor})
        if connector_state is not None:
            values["connector_state"] = jsonutil.dumps_str(connector_state)
        if last_read is not None:
            values["last_read"] = last_read
        stmt = update(t.pipeline_state).where(t.pipeline_state.c.pipeline == pipeline).values(**values)
        if conn is not None:
            conn.execute(stmt)
            return
        with self.engine.begin() as c:
            c.execute(stmt)

    def has_contracts(self, pipeline: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(t.contracts.c.origin_id).where(t.contracts.c.pipeline == pipeline).limit(1)
                ).first()
                is not None
            )
