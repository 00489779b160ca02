"""The audit trail, quarantine and replay over HTTP (issue 8): read for viewers, replay for operators."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from openconnector.api.deps import Operator, ServiceDep, Viewer
from openconnector.api.errors import ApiError, not_found
from openconnector.api.models import API_ERRORS, MAX_OFFSET, ErrorBody
from openconnector.api.responses import OrjsonResponse
from openconnector.audit import AuditTrail
from openconnector.pipelines.replay import areplay_quarantine, areplay_run
from openconnector.registers import NotFound, RunLog

router = APIRouter(tags=["audit"], responses=API_ERRORS)


@router.get("/api/audit/verify", summary="Verify the whole audit trail")
async def verify(service: ServiceDep, _: Viewer) -> OrjsonResponse:
    trail = AuditTrail.for_engine(service.store.engine)
    result = await asyncio.to_thread(trail.verify)  # CPU-bound: keep the event loop free
    return OrjsonResponse(result.as_dict(), status_code=200)


@router.get(
    "/api/audit/{object_id}",
    summary="An object's audit entries, newest first",
    description="`since`/`until`: ISO-8601 date-times (a time zone is assumed UTC when absent).",
    responses={422: {"model": ErrorBody}},
)
def history(
    object_id: str,
    service: ServiceDep,
    _: Viewer,
    run_id: str | None = None,
    pipeline: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(alias="_limit", ge=1, le=10_000)] = 100,
) -> OrjsonResponse:
    trail = AuditTrail.for_engine(service.store.engine)
    try:
        entries = trail.history(
            None,
            object_id,
            run_id=run_id,
            pipeline=pipeline,
            actor=actor,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            limit=limit,
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    return OrjsonResponse({"results": entries, "total": len(entries), "limit": limit, "offset": 0})


@router.get("/api/quarantine", summary="Quarantined records")
def quarantine(
    service: ServiceDep,
    _: Viewer,
    pipeline: str | None = None,
    status: Literal["open", "resolved"] = "open",
    limit: Annotated[int, Query(alias="_limit", ge=0, le=1000)] = 100,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
) -> OrjsonResponse:
    page = RunLog(service.store.engine).quarantined(
        pipeline=pipeline, status=status, limit=limit, offset=offset
    )
    return OrjsonResponse(page.as_dict())


def _replayed(result: Any) -> OrjsonResponse:
    return OrjsonResponse(result.as_dict(), status_code=200)


@router.post("/api/runs/{run_id}/replay", summary="Replay a run's quarantined records as a new run")
async def replay_run(run_id: str, service: ServiceDep, _: Operator, dry_run: bool = False) -> OrjsonResponse:
    try:
        result = await areplay_run(service.project, service.store, run_id, dry_run=dry_run)
    except NotFound as exc:
        raise not_found(str(exc)) from None
    return _replayed(result)


@router.post("/api/quarantine/replay", summary="Replay quarantined records as a new run")
async def replay_quarantine(
    service: ServiceDep,
    _: Operator,
    pipeline: str | None = None,
    error: str | None = None,
    dry_run: bool = False,
) -> OrjsonResponse:
    result = await areplay_quarantine(
        service.project, service.store, pipeline=pipeline, error=error, dry_run=dry_run
    )
    return _replayed(result)
