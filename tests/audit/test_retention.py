"""Run-log retention removes old run logs and runs, never audit entries or open quarantine."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from openconnector.audit.retention import prune
from openconnector.config.models import ProjectConfig
from openconnector.registers import RunLog, Store
from openconnector.registers import tables as t
from openconnector.timeutil import iso, now
from tests.audit.conftest import write_history


def _runs(store: Store, pipeline: str, ages_days: list[int]) -> list[str]:
    """Runs that started ``ages_days`` ago, each with a per-record log and one quarantined record."""
    log = RunLog(store.engine)
    ids = []
    for n, age in enumerate(ages_days):
        run_id = f"{pipeline}-run-{n}"
        log.start(run_id, pipeline, "manual")
        log.finish(run_id, status="ok", counts={}, errors=[], warnings=[], duration_s=0.1)
        with store.engine.begin() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(started_at=iso(now() - timedelta(days=age)))
            )
            conn.execute(
                t.run_records.insert().values(run_id=run_id, seq=1, entries='[["1","created",null,null]]')
            )
            conn.execute(
                t.quarantine.insert().values(
                    id=f"q-{run_id}", pipeline=pipeline, run_id=run_id, errors="[]", stage="validation",
                    created_at=iso(now()), status="open",
                )
            )  # fmt: skip
        ids.append(run_id)
    return ids


def _count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_retention_per_pipeline_keeps_audit_entries(people: Store) -> None:
    write_history(people)
    audit_before = _count(people, t.metadata.tables["audit_entries"])
    _runs(people, "crm", [1, 40, 400])
    _runs(people, "hr", [1, 40, 400])
    running = RunLog(people.engine)
    running.start("crm-running", "crm", "manual")
    with people.engine.begin() as conn:
        conn.execute(
            update(t.runs).where(t.runs.c.id == "crm-running").values(started_at="2000-01-01T00:00:00Z")
        )
    config = ProjectConfig.model_validate(
        {
            "settings": {"retention": {"records_days": 30, "runs_days": 365}},
            "pipelines": {
                "hr": {
                    "source": "s",
                    "target": "crm/person",
                    "retention": {"records_days": 7, "runs_days": None},
                },
            },
        }
    )
    preview = prune(people.engine, config, dry_run=True)
    assert preview.runs == 1 and preview.record_logs == 4, preview.as_dict()
    assert _count(people, t.runs) == 7  # a dry run removes nothing

    result = prune(people.engine, config)
    assert result.as_dict()["pipelines"]["crm"] == {
        "records_days": 30,
        "runs_days": 365,
        "record_logs": 2,
        "runs": 1,
    }
    assert result.pipelines["hr"]["runs"] == 0 and result.pipelines["hr"]["record_logs"] == 2
    with people.engine.connect() as conn:
        runs = set(conn.execute(select(t.runs.c.id)).scalars())
        logged = set(conn.execute(select(t.run_records.c.run_id)).scalars())
    assert runs == {"crm-run-0", "crm-run-1", "hr-run-0", "hr-run-1", "hr-run-2", "crm-running"}
    assert logged == {"crm-run-0", "hr-run-0"}
    assert _count(people, t.metadata.tables["audit_entries"]) == audit_before  # never pruned
    assert _count(people, t.quarantine) == 6  # nothing quarantined is lost
    assert prune(people.engine, config).runs == 0  # idempotent
