"""Quarantine → fix → replay: re-process quarantined records through the current mapping and schema.

A replay is an ordinary run with trigger ``replay`` over the records the quarantine kept (raw payload
and metadata as received), so it takes the normal path — change detection against the contract,
validation, the audit trail (actor ``replay``) — and never deletes or moves the cursor. It takes the
pipeline's run lock: a replay while the pipeline runs is refused (:class:`PipelineBusy`), never
interleaved. In the same transaction as each batch's outcome, quarantine rows whose record now lands
(created, updated, unchanged, or filtered out) are resolved with the replay's run id; the others
stay open with the new errors. ``dry_run`` shows the outcome per record and writes nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Connection

from openconnector.connectors.base import Batch
from openconnector.pipelines.engine import PipelineRun
from openconnector.pipelines.process import BatchOutcome
from openconnector.registers import tables as t
from openconnector.registers.runlog import PipelineBusy, RunLog
from openconnector.registers.store import Store, decode

if TYPE_CHECKING:
    from openconnector.config import Project

LANDED = ("created", "updated", "unchanged", "filtered")
MAX_LISTED = 1000  # per-record outcomes listed in a result (counts cover all)


@dataclass
class Quarantined:
    id: str
    pipeline: str
    run_id: str
    origin_id: str | None
    stage: str
    errors: list[dict[str, Any]]
    raw: Any
    meta: Any


@dataclass
class ReplayResult:
    dry_run: bool
    selected: int = 0
    replayed: int = 0
    resolved: int = 0
    still_quarantined: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "selected": self.selected,
            "replayed": self.replayed,
            "resolved": self.resolved,
            "still_quarantined": self.still_quarantined,
            "skipped": self.skipped,
            "runs": self.runs,
            "records": self.records,
        }


def error_text(errors: list[dict[str, Any]]) -> str:
    return "; ".join((f"{e.get('path')}: " if e.get("path") else "") + str(e.get("message")) for e in errors)


def select_quarantined(
    store: Store, *, run_id: str | None = None, pipeline: str | None = None, error: str | None = None
) -> list[Quarantined]:
    """Open quarantine entries, oldest first, of one run or of a pipeline (or all), whose errors
    contain ``error`` (case-insensitive)."""
    q = t.quarantine
    conds = [q.c.status == "open"]
    if run_id:
        conds.append(q.c.run_id == run_id)
    if pipeline:
        conds.append(q.c.pipeline == pipeline)
    stmt = select(q).where(and_(*conds)).order_by(q.c.created_at, q.c.id)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    needle = error.lower() if error else None
    out = []
    for r in rows:
        errors = decode(r.errors) or []
        if needle is not None and needle not in error_text(errors).lower():
            continue
        out.append(
            Quarantined(
                r.id, r.pipeline, r.run_id, r.origin_id, r.stage, errors, decode(r.raw), decode(r.meta)
            )
        )
    return out


_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|-?\b\d+(?:\.\d+)?\b")


def error_pattern(errors: list[dict[str, Any]]) -> str:
    """An error message with its values blanked, so "-1 is less than 0" and "-7 is less than 0" group."""
    return _VALUES.sub("…", error_text(errors))


def group_by_error(entries: list[Quarantined]) -> list[dict[str, Any]]:
    """Quarantine entries grouped by pipeline, stage and error (values blanked), largest group first."""
    groups: dict[tuple[str, str, str], list[Quarantined]] = defaultdict(list)
    for e in entries:
        groups[(e.pipeline, e.stage, error_pattern(e.errors))].append(e)
    out = [
        {
            "pipeline": p,
            "stage": stage,
            "error": pattern,
            "example": error_text(items[0].errors),
            "count": len(items),
            "origin_ids": [i.origin_id for i in items[:10]],
            "runs": sorted({i.run_id for i in items}),
        }
        for (p, stage, pattern), items in groups.items()
    ]
    return sorted(out, key=lambda g: (-g["count"], g["pipeline"], g["error"]))


class _Tracker:
    """Pairs each processed record with the quarantine entry it came from and, in the batch's own
    transaction, resolves or updates that entry."""

    def __init__(self, entries: list[Quarantined], result: ReplayResult, dry_run: bool) -> None:
        self.entries = entries
        self.result = result
        self.dry_run = dry_run
        self.offset = 0
        self.run_id = ""

    def __call__(self, batch: Batch, outcome: BatchOutcome) -> None:
        w = outcome.write
        entries = self.entries[self.offset : self.offset + len(batch.records)]
        self.offset += len(batch.records)
        if len(w.log) != len(entries) or batch.errors:
            raise RuntimeError("replay lost track of its records; nothing in quarantine was changed")
        resolved: list[dict[str, Any]] = []
        requeued: list[dict[str, Any]] = []
        new_rows = iter(w.quarantine)
        for entry, (_, result, object_id, message) in zip(entries, w.log, strict=True):
            if result == "quarantined":
                row = next(new_rows)
                requeued.append(
                    {
                        "b_id": entry.id,
                        "errors": row["errors"],
                        "stage": row["stage"],
                        "mapping": row["mapping"],
                        "mapping_version": row["mapping_version"],
                    }
                )
                self.result.still_quarantined += 1
            else:
                resolved.append({"b_id": entry.id})
                self.result.resolved += 1
            self.result.replayed += 1
            if len(self.result.records) < MAX_LISTED:
                self.result.records.append(
                    {
                        "quarantine_id": entry.id,
                        "pipeline": entry.pipeline,
                        "origin_id": entry.origin_id,
                        "outcome": result,
                        "object_id": object_id,
                        "error": message,
                        "previous_error": error_text(entry.errors),
                    }
                )
        # The entry stays the one record of this failure: no second quarantine row per replay.
        w.quarantine = []
        if not self.dry_run:
            w.extra.append(self._writer(resolved, requeued))

    def _writer(
        self, resolved: list[dict[str, Any]], requeued: list[dict[str, Any]]
    ) -> Callable[[Connection], None]:
        q = t.quarantine
        run_id = self.run_id

        def write(conn: Connection) -> None:
            if resolved:
                conn.execute(
                    update(q)
                    .where(q.c.id == bindparam("b_id"), q.c.status == "open")
                    .values(status="resolved", resolved_run_id=run_id),
                    resolved,
                )
            if requeued:
                conn.execute(
                    update(q)
                    .where(q.c.id == bindparam("b_id"), q.c.status == "open")
                    .values(
                        errors=bindparam("errors"),
                        stage=bindparam("stage"),
                        mapping=bindparam("mapping"),
                        mapping_version=bindparam("mapping_version"),
                    ),
                    requeued,
                )

        return write


async def replay(
    project: Project, store: Store, entries: list[Quarantined], *, dry_run: bool = False
) -> ReplayResult:
    """Replay ``entries`` (from :func:`select_quarantined`): one run per pipeline."""
    result = ReplayResult(dry_run=dry_run, selected=len(entries))
    by_pipeline: dict[str, list[Quarantined]] = defaultdict(list)
    for e in entries:
        if e.pipeline not in project.pipelines:
            result.skipped.append(_skip(e, f"pipeline {e.pipeline!r} is not in the configuration"))
        elif not isinstance(e.raw, dict):
            result.skipped.append(
                _skip(
                    e,
                    f"the {e.stage} error kept no record to replay ({error_text(e.errors)}); "
                    "fix it at the source",
                )
            )
        else:
            by_pipeline[e.pipeline].append(e)
    runlog = RunLog(store.engine)
    for pipeline in sorted(by_pipeline):
        items = by_pipeline[pipeline]
        holder = runlog.running(pipeline)
        if holder is not None and not dry_run:  # the run lock decides; this only fails before any work
            raise PipelineBusy(pipeline, holder)
        metas = [e.meta for e in items]
        run = PipelineRun(
            project,
            store,
            pipeline,
            trigger="replay",
            dry_run=dry_run,
            records=[e.raw for e in items],
            records_meta=metas if any(m is not None for m in metas) else None,
        )
        tracker = _Tracker(items, result, dry_run)
        tracker.run_id = run.result.id
        run.on_batch.append(tracker)
        outcome = await run.execute()
        result.runs.append(outcome.as_dict())
    return result


def _skip(e: Quarantined, reason: str) -> dict[str, Any]:
    return {"quarantine_id": e.id, "pipeline": e.pipeline, "origin_id": e.origin_id, "reason": reason}


async def areplay_run(project: Project, store: Store, run_id: str, dry_run: bool = False) -> ReplayResult:
    """Replay the open quarantine entries of one run (``run_id`` or a unique prefix of it)."""
    run = RunLog(store.engine).get(run_id)  # NotFound for an unknown run
    return await replay(project, store, select_quarantined(store, run_id=run["id"]), dry_run=dry_run)


async def areplay_quarantine(
    project: Project,
    store: Store,
    pipeline: str | None = None,
    error: str | None = None,
    dry_run: bool = False,
) -> ReplayResult:
    """Replay open quarantine entries, of one pipeline or all, optionally only those whose errors
    contain ``error``."""
    return await replay(
        project, store, select_quarantined(store, pipeline=pipeline, error=error), dry_run=dry_run
    )


def replay_run(project: Project, store: Store, run_id: str, dry_run: bool = False) -> ReplayResult:
    return asyncio.run(areplay_run(project, store, run_id, dry_run))


def replay_quarantine(
    project: Project,
    store: Store,
    pipeline: str | None = None,
    error: str | None = None,
    dry_run: bool = False,
) -> ReplayResult:
    return asyncio.run(areplay_quarantine(project, store, pipeline, error, dry_run))
