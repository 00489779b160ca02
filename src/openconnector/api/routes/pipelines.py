"""Pipelines: configuration, state, manual runs, webhook attempts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from openconnector.api.deps import Operator, ServiceDep, Viewer
from openconnector.api.errors import not_found
from openconnector.api.models import (
    API_ERRORS,
    MAX_OFFSET,
    ErrorBody,
    ListPage,
    RunRequest,
    RunStarted,
    WebhookAttempt,
)
from openconnector.api.responses import OrjsonResponse
from openconnector.api.routes.sections import section_router
from openconnector.api.service import Service
from openconnector.config.models import WebhookTrigger
from openconnector.registers import RunLog
from openconnector.timeutil import iso, now
from openconnector.triggers import Schedule, schedules


def pipeline_state(service: Service, name: str) -> dict[str, Any]:
    cfg = service.project.pipelines.get(name)
    if cfg is None:
        return {}
    runlog = RunLog(service.store.engine)
    last = runlog.list(pipeline=name, limit=1).results
    at = now()
    mine: list[Schedule] = [s for s in schedules(service.project) if s.pipeline == name]
    return {
        "enabled": cfg.enabled,
        "running": runlog.running(name),
        "last_run": last[0] if last else None,
        "webhook": f"/hooks/{name}" if any(isinstance(t, WebhookTrigger) for t in cfg.triggers) else None,
        "schedules": [
            {"schedule": s.cron, "timezone": s.timezone, "next": iso(s.next_slot(at))} for s in mine
        ],
    }


router = section_router("pipelines", pipeline_state)
runs_router = APIRouter(prefix="/api/pipelines", tags=["pipelines"], responses=API_ERRORS)


@runs_router.post(
    "/{name}/run",
    response_model=RunStarted,
    status_code=202,
    summary="Start a run now (manual trigger)",
    description="Answers as soon as the run has started, with its id; the run continues in the "
    "background (follow it at /api/runs/{id}). 409 if the pipeline is already running — in this "
    "server or any other process on the same database.",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def run_pipeline(
    name: str, service: ServiceDep, _: Operator, body: Annotated[RunRequest | None, Body()] = None
) -> OrjsonResponse:
    req = body or RunRequest.model_validate({})
    run_id = await service.dispatcher.start_run(name, trigger="manual", full=req.full, dry_run=req.dry_run)
    return OrjsonResponse(
        {
            "id": run_id,
            "pipeline": name,
            "trigger": "manual",
            "status": "running",
            "dry_run": req.dry_run,
            "url": f"/api/runs/{run_id}",
        },
        status_code=202,
    )


@runs_router.get(
    "/{name}/webhook-attempts",
    response_model=ListPage[WebhookAttempt],
    summary="Webhook deliveries to this pipeline, newest first (accepted and refused)",
    responses={404: {"model": ErrorBody}},
)
def webhook_attempts(
    name: str,
    service: ServiceDep,
    _: Viewer,
    limit: Annotated[int, Query(alias="_limit", ge=0, le=1000)] = 20,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
) -> OrjsonResponse:
    if name not in service.project.pipelines:
        raise not_found(f"pipeline {name!r} does not exist")
    return OrjsonResponse(service.inbox.list(name, limit=limit, offset=offset).as_dict())
