"""``POST /hooks/{pipeline}``: a signed webhook starts a pull, or carries records itself.

The signature is checked over the raw bytes before anything is parsed, so a forged or replayed
delivery is refused (401) without its body being processed — and every delivery, refused or not,
is recorded. A pipeline whose ``read.records`` is set (or whose source is ``type: webhook``) takes
its records from the body; they are kept in the database before the 202 answer, and run through
the ordinary map → validate → upsert path in the pipeline's next run (deliveries that arrive while
a run is busy share one run). Any other pipeline is pulled once more.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request

from openconnector.api.deps import ServiceDep
from openconnector.api.errors import ApiError
from openconnector.api.models import ErrorBody, WebhookAccepted
from openconnector.api.responses import OrjsonResponse
from openconnector.api.service import Service
from openconnector.config.models import WebhookTrigger
from openconnector.triggers import (
    HEADER,
    BodyError,
    Overloaded,
    ShuttingDown,
    SignatureError,
    extract,
    verify,
)
from openconnector.triggers.source import WebhookConnector

log = logging.getLogger("openconnector.webhook")

router = APIRouter(tags=["webhooks"])


def carries_records(service: Service, pipeline: str) -> tuple[bool, str | None]:
    """Whether ``pipeline``'s webhooks carry records, and the path of the list in the body."""
    project = service.project
    read = project.reads.get(pipeline)
    path = read.records if read is not None else None
    if project.connectors.get(project.pipelines[pipeline].source) is WebhookConnector:
        return True, path
    return path is not None, path


@router.post(
    "/hooks/{pipeline}",
    status_code=202,
    response_model=WebhookAccepted,
    summary="Deliver a webhook to a pipeline",
    description=f"Signed with the header `{HEADER}: t=<unix seconds>,v1=<hex>`, the hex being "
    "HMAC-SHA256 (the pipeline's webhook secret) over `<unix seconds>.<raw body>`; 5-minute window, "
    "each signature accepted once.",
    responses={
        400: {"model": ErrorBody},
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def webhook(pipeline: str, request: Request, service: ServiceDep) -> OrjsonResponse:
    body = await request.body()
    remote = request.client.host if request.client else None
    metrics = service.metrics.webhooks
    project = service.project

    async def refuse(status: int, outcome: str, message: str, signed_at: int | None = None) -> ApiError:
        label = pipeline if pipeline in project.pipelines else "_unknown"
        metrics.labels(label, outcome).inc()
        row = service.inbox.refused_row(
            pipeline, outcome, status, message, remote=remote, body_bytes=len(body), signed_at=signed_at
        )
        await service.inbox.write(row)
        attempt_id = row["id"]
        log.warning("webhook refused: %s", message, extra={"pipeline": pipeline, "outcome": outcome})
        headers = {"WWW-Authenticate": "Signature"} if status == 401 else None
        return ApiError(status, outcome, message, {"attempt_id": attempt_id}, headers)

    cfg = project.pipelines.get(pipeline)
    secrets = [t.webhook.secret for t in cfg.triggers if isinstance(t, WebhookTrigger)] if cfg else []
    if cfg is None:
        raise await refuse(404, "unknown_pipeline", f"pipeline {pipeline!r} does not exist")
    if not secrets:
        raise await refuse(404, "no_webhook", f"pipeline {pipeline!r} has no webhook trigger")
    try:
        signature = verify(request.headers.get(HEADER), body, secrets)
    except SignatureError as exc:
        raise await refuse(401, exc.outcome, str(exc)) from None
    if not cfg.enabled:
        raise await refuse(409, "disabled", f"pipeline {pipeline!r} is disabled", signature.timestamp)

    with_records, path = carries_records(service, pipeline)
    records: list[Any] | None = None
    if with_records:
        try:
            records = extract(body, path)
        except BodyError as exc:
            status = 400 if exc.code == "bad_body" else 422
            raise await refuse(status, exc.code, str(exc), signature.timestamp) from None

    job = None
    try:
        if records is None:
            job = service.dispatcher.reserve(pipeline, "pull")
        elif records:
            job = service.dispatcher.reserve(pipeline, "records", len(records))
    except (Overloaded, ShuttingDown) as exc:  # refused and recorded; the sender retries later
        outcome = "overloaded" if isinstance(exc, Overloaded) else "shutting_down"
        error = await refuse(503, outcome, str(exc), signature.timestamp)
        error.headers["Retry-After"] = "5"
        raise error from None
    n = len(records) if records is not None else 0
    row = service.inbox.accepted_row(
        pipeline,
        signature=signature.digests[0],
        signed_at=signature.timestamp,
        run_id=job.run_id if job else None,
        records=len(records) if records is not None else None,
        body=body.decode("utf-8") if records else None,
        remote=remote,
        body_bytes=len(body),
    )
    try:
        fresh = await service.inbox.write(row)
    except BaseException:
        if job is not None:
            service.dispatcher.release(job, None, accepted=False, reserved=n)
        raise
    if not fresh:
        if job is not None:
            service.dispatcher.release(job, None, accepted=False, reserved=n)
        raise await refuse(
            401, "replayed", "this signature was used before; sign every delivery anew", signature.timestamp
        )
    attempt_id = row["id"]
    if job is not None:
        service.dispatcher.release(job, records, accepted=True, reserved=n)
    metrics.labels(pipeline, "accepted").inc()
    return OrjsonResponse(
        {
            "run_id": job.run_id if job else None,
            "attempt_id": attempt_id,
            "pipeline": pipeline,
            "records": len(records) if records is not None else None,
            "status": "queued" if job else "nothing to run",
        },
        status_code=202,
    )
