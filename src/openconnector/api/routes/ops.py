"""Operations: liveness, readiness, Prometheus metrics (no token: for probes and scrapers)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from openconnector.api.deps import ServiceDep
from openconnector.api.errors import ApiError
from openconnector.api.models import ErrorBody, Readiness, Status

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Status, summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    response_model_exclude_none=True,
    summary="The database is reachable, every queue consumer is connected, and the server takes work",
    responses={503: {"model": ErrorBody}},
)
async def readyz(service: ServiceDep) -> dict[str, Any]:
    if service.dispatcher.stopping:
        raise ApiError(503, "shutting_down", "the server is shutting down")
    try:
        await asyncio.wait_for(asyncio.to_thread(service.store.ping), timeout=5)
    except Exception as exc:
        raise ApiError(
            503, "database_unreachable", f"the database is not reachable: {type(exc).__name__}"
        ) from None
    snapshots = service.consumer_snapshots()
    if not snapshots:
        return {"status": "ready"}
    # no error texts here: the probe needs no token (a consumer's errors are in its runs)
    consumers = [{k: s.get(k) for k in ("pipeline", "type", "state", "since")} for s in snapshots]
    down = [c for c, s in zip(consumers, snapshots, strict=True) if not s["healthy"]]
    if down:
        names = ", ".join(f"{c['pipeline']} ({c['state']})" for c in down)
        raise ApiError(503, "consumer_not_connected", f"not connected: {names}", details=consumers)
    return {"status": "ready", "consumers": consumers}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics.render(), media_type=service.metrics.content_type)
