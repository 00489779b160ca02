"""Operations: liveness, readiness, Prometheus metrics (no token: for probes and scrapers)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from openconnector.api.deps import ServiceDep
from openconnector.api.errors import ApiError
from openconnector.api.models import ErrorBody, Status

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Status, summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Status,
    summary="The database is reachable and the server takes work",
    responses={503: {"model": ErrorBody}},
)
async def readyz(service: ServiceDep) -> dict[str, str]:
    if service.dispatcher.stopping:
        raise ApiError(503, "shutting_down", "the server is shutting down")
    try:
        await asyncio.wait_for(asyncio.to_thread(service.store.ping), timeout=5)
    except Exception as exc:
        raise ApiError(
            503, "database_unreachable", f"the database is not reachable: {type(exc).__name__}"
        ) from None
    return {"status": "ready"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics.render(), media_type=service.metrics.content_type)
