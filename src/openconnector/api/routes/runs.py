"""Runs and their per-record logs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from openconnector.api.deps import ServiceDep, Viewer
from openconnector.api.errors import not_found
from openconnector.api.models import API_ERRORS, MAX_OFFSET, ErrorBody, ListPage, RunDetail, RunDoc
from openconnector.api.responses import OrjsonResponse
from openconnector.registers import NotFound, RunLog

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=API_ERRORS)

Outcome = Literal["created", "updated", "unchanged", "filtered", "quarantined", "failed", "deleted"]


@router.get("", response_model=ListPage[RunDoc], summary="Runs, newest first")
def list_runs(
    service: ServiceDep,
    _: Viewer,
    pipeline: str | None = None,
    status: Literal["running", "ok", "partial", "failed"] | None = None,
    limit: Annotated[int, Query(alias="_limit", ge=0, le=1000)] = 20,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
) -> OrjsonResponse:
    page = RunLog(service.store.engine).list(pipeline=pipeline, status=status, limit=limit, offset=offset)
    return OrjsonResponse(page.as_dict())


@router.get(
    "/{run_id}",
    response_model=RunDetail,
    summary="One run, with its per-record log",
    description="`_limit`/`_offset` page the per-record log; `outcome` keeps one outcome only. "
    "A run queued behind a busy pipeline shows status `queued`.",
    responses={404: {"model": ErrorBody}},
)
def get_run(
    run_id: str,
    service: ServiceDep,
    _: Viewer,
    outcome: Outcome | None = None,
    limit: Annotated[int, Query(alias="_limit", ge=0, le=10_000)] = 100,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
) -> OrjsonResponse:
    runlog = RunLog(service.store.engine)
    try:
        doc = runlog.get(run_id)
    except NotFound:
        pending = service.dispatcher.pending_run(run_id)
        if pending is None:
            raise not_found(f"run {run_id} does not exist") from None
        return OrjsonResponse({**pending, "records": None})
    doc["records"] = runlog.records(doc["id"], outcome=outcome, limit=limit, offset=offset).as_dict()
    return OrjsonResponse(doc)
