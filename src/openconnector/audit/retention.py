"""Run-log retention: per-record run logs and run summaries older than a pipeline's limits go.

``retention: {records_days: 30, runs_days: 365}`` per pipeline (default ``settings.retention``).
Called by the scheduler periodically and by ``openconnector runs prune``. It lives beside the audit
trail because of what it must never touch: audit entries, quarantined records (nothing is lost
until replayed) and runs that are still running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, select

from openconnector.config.models import ProjectConfig, RetentionConfig
from openconnector.registers import tables as t
from openconnector.timeutil import iso, now


@dataclass
class PruneResult:
    dry_run: bool
    record_logs: int = 0  # run-log rows (one per batch) removed
    runs: int = 0
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "record_logs": self.record_logs,
            "runs": self.runs,
            "pipelines": self.pipelines,
        }


def retention_for(config: ProjectConfig | None, pipeline: str) -> RetentionConfig:
    if config is None:
        return RetentionConfig()
    cfg = config.pipelines.get(pipeline)
    if cfg is not None and cfg.retention is not None:
        return cfg.retention
    return config.settings.retention


def prune(
    engine: Engine,
    config: ProjectConfig | None,
    *,
    pipeline: str | None = None,
    at: datetime | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Apply retention to every pipeline that has runs (or to ``pipeline``); ``at`` is "now"."""
    result = PruneResult(dry_run=dry_run)
    moment = at or now()
    r, rr = t.runs, t.run_records
    with engine.connect() as conn:
        names = [pipeline] if pipeline else list(conn.execute(select(r.c.pipeline).distinct()).scalars())
    for name in sorted(names):
        keep = retention_for(config, name)
        done: dict[str, Any] = {
            "records_days": keep.records_days,
            "runs_days": keep.runs_days,
            "record_logs": 0,
            "runs": 0,
        }
        with engine.begin() as conn:
            for days, drop_runs in ((keep.records_days, False), (keep.runs_days, True)):
                if days is None:
                    continue
                old = select(r.c.id).where(
                    r.c.pipeline == name,
                    r.c.started_at < iso(moment - timedelta(days=days)),
                    r.c.status != "running",
                )
                logs = rr.c.run_id.in_(old)
                if dry_run:
                    done["record_logs"] = max(
                        done["record_logs"],
                        conn.execute(select(func.count()).select_from(rr).where(logs)).scalar_one(),
                    )
                    if drop_runs:
                        done["runs"] = conn.execute(
                            select(func.count()).select_from(old.subquery())
                        ).scalar_one()
                    continue
                done["record_logs"] += conn.execute(delete(rr).where(logs)).rowcount or 0
                if drop_runs:
                    done["runs"] += conn.execute(delete(r).where(and_(r.c.id.in_(old)))).rowcount or 0
        result.pipelines[name] = done
        result.record_logs += done["record_logs"]
        result.runs += done["runs"]
    return result
