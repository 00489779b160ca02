"""Jobs: the original runs a synchronization from a Nextcloud background job every ``interval``
seconds; that becomes a ``schedule`` trigger on the pipeline when the interval is a cron step."""

from __future__ import annotations

from typing import Any

from openconnector.importers.openconnector.context import METADATA, Context, Imported, Ledger, is_empty
from openconnector.importers.openconnector.mappings import unresolved


def interval_to_cron(seconds: int) -> str | None:
    """A cron expression that fires every ``seconds``, when one exists (cron steps divide the hour/day)."""
    if seconds <= 0 or seconds % 60:
        return None
    minutes = seconds // 60
    if minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60:
        return None
    hours = minutes // 60
    if hours < 24 and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if hours == 24:
        return "0 0 * * *"
    if hours == 24 * 7:
        return "0 0 * * 0"
    return None


def convert_job(ctx: Context, item: Imported) -> None:
    found = item.found
    book = Ledger(ctx, found)
    book.skip("name", "slug")
    job_class = str(book.take("jobClass") or "")
    if not job_class.endswith("SynchronizationAction"):
        item.unconvertible = (
            f"job class {job_class!r} has no equivalent (only synchronization jobs are imported)"
        )
        ctx.add("skipped", found, "jobClass", f"job not imported: {item.unconvertible}")
        return
    arguments = book.take("arguments")
    ref = arguments.get("synchronizationId") if isinstance(arguments, dict) else None
    hits = ctx.index.find("synchronization", ref) if not is_empty(ref) else []
    if len(hits) != 1:
        unresolved(ctx, "synchronization", found, "arguments.synchronizationId", str(ref), hits)
        return
    pipeline = ctx.pipelines.get(hits[0].name)
    if pipeline is None:
        ctx.add(
            "dropped",
            found,
            "arguments.synchronizationId",
            f"runs synchronization {hits[0].name!r} ({hits[0].found.label}), which was not imported",
        )
        return
    interval = book.take("interval")
    cron = (
        interval_to_cron(interval) if isinstance(interval, int) and not isinstance(interval, bool) else None
    )
    if book.take("isEnabled") is False:
        ctx.add("dropped", found, "isEnabled", "the job is disabled: no schedule was added")
    elif cron is None:
        ctx.add(
            "dropped",
            found,
            "interval",
            f"every {interval!r} seconds is not a cron step; add a schedule trigger to pipelines."
            f"{hits[0].name} by hand",
        )
    else:
        triggers: list[dict[str, Any]] = pipeline.setdefault("triggers", [])
        if {"schedule": cron} not in triggers:
            triggers.append({"schedule": cron})
        ctx.add(
            "note",
            found,
            "interval",
            f"every {interval} seconds: schedule {cron!r} on pipeline {hits[0].name!r}",
            yaml=f"pipelines.{hits[0].name}.triggers",
        )
    for key in ("isSingleRun", "scheduleAfter", "executionTime", "userId", "logRetention", "errorRetention"):
        book.drop(key, "a background-job setting of the original with no equivalent")
    book.close(
        "not a job setting the importer knows; not carried over",
        metadata=METADATA | {"lastRun", "nextRun", "jobListId", "description"},
    )
