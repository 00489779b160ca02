"""The run a log line belongs to: context variables that the JSON log formatter reads.

Set once where a run starts (in its own thread and event loop); asyncio tasks and
``asyncio.to_thread`` copy the context, so every line the engine and the connector log during the
run carries the run id without being passed it.
"""

from __future__ import annotations

from contextvars import ContextVar

run_id: ContextVar[str | None] = ContextVar("openconnector_run_id", default=None)
pipeline: ContextVar[str | None] = ContextVar("openconnector_pipeline", default=None)


def bind_run(rid: str | None, name: str | None) -> None:
    run_id.set(rid)
    pipeline.set(name)
