"""Every error the API returns is ``{"error": {"code", "message", "details"}}`` — never a stack trace.

Handlers map the exceptions of the layers below (store, engine, config loader, request validation)
to a status and a stable ``code``; anything unexpected is a 500 whose message points at the log
line (by an error id) that holds the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from openconnector.api.responses import OrjsonResponse
from openconnector.ids import uuid7
from openconnector.pipelines import PipelineBusy, PipelineNotFound
from openconnector.registers import InvalidSchema, NotFound, ValidationFailed
from openconnector.triggers import Overloaded, ShuttingDown

log = logging.getLogger("openconnector.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: Mapping[str, str] | None = None
) -> OrjsonResponse:
    return OrjsonResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=dict(headers or {}),
    )


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", what)


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> OrjsonResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> OrjsonResponse:
        # loc and msg only: the input may hold a secret and is the caller's own anyway
        details = [{"path": _loc(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
        n = len(details)
        return error_response(422, "invalid_request", f"the request has {n} problem{'s' * (n != 1)}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), message, None, headers)

    @app.exception_handler(NotFound)
    async def store_not_found(request: Request, exc: NotFound) -> OrjsonResponse:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(ValidationFailed)
    async def invalid_object(request: Request, exc: ValidationFailed) -> OrjsonResponse:
        details = [e.as_dict() for e in exc.errors]
        return error_response(
            422, "invalid_object", f"the object does not match its schema ({len(details)} errors)", details
        )

    @app.exception_handler(InvalidSchema)
    async def invalid_schema(request: Request, exc: InvalidSchema) -> OrjsonResponse:
        return error_response(422, "invalid_schema", str(exc))

    @app.exception_handler(PipelineBusy)
    async def busy(request: Request, exc: PipelineBusy) -> OrjsonResponse:
        return error_response(409, "pipeline_busy", str(exc), {"running_run_id": exc.run_id})

    @app.exception_handler(PipelineNotFound)
    async def no_pipeline(request: Request, exc: PipelineNotFound) -> OrjsonResponse:
        return error_response(404, "not_found", f"pipeline {exc.args[0]!r} does not exist")

    @app.exception_handler(ShuttingDown)
    async def stopping(request: Request, exc: ShuttingDown) -> OrjsonResponse:
        return error_response(503, "shutting_down", str(exc), None, {"Retry-After": "10"})

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> OrjsonResponse:
        return error_response(503, "overloaded", str(exc), None, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> OrjsonResponse:
        error_id = uuid7()
        log.error(
            "unhandled error %s in %s %s",
            error_id,
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"error_id": error_id},
        )
        return error_response(
            500, "internal_error", f"internal error; the server log has the details under id {error_id}"
        )
