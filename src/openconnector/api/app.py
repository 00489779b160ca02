"""The FastAPI application: routers, error handlers, the body limit, and the service's life cycle
(start the dispatcher and scheduler with the server; on shutdown let runs finish, then stop)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from openconnector import __version__
from openconnector.api import errors
from openconnector.api.limits import BodyLimit
from openconnector.api.responses import OrjsonResponse
from openconnector.api.routes import (
    audit,
    config,
    hooks,
    mappings,
    objects,
    ops,
    pipelines,
    registers,
    runs,
    sources,
)
from openconnector.api.service import Service
from openconnector.gctuning import tune_for_throughput

DESCRIPTION = """The OpenConnector HTTP API.

Every `/api` route needs `Authorization: Bearer <token>` (`openconnector tokens create --role R --name N`):
`viewer` reads, `operator` also runs pipelines and changes objects, `admin` also changes configuration.
Webhooks (`/hooks/{pipeline}`) are signed with the pipeline's secret instead.
Errors are always `{"error": {"code", "message", "details"}}`.
"""


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        tune_for_throughput()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="OpenConnector",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    app.state.service = service
    errors.install(app)
    app.add_middleware(BodyLimit, limit=lambda: service.max_body_bytes)
    for module in (ops, registers, objects, sources, mappings, pipelines, runs, config, hooks, audit):
        app.include_router(module.router)
    app.include_router(pipelines.runs_router)
    return app
