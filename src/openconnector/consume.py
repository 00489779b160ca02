"""Continuous consumption of queue pipelines: ``openconnector consume`` and the consumers of ``serve``.

A consumer keeps one connector (one broker connection, one group membership) for its whole life and
hands it to a series of runs, so the run log stays observable: a run starts when messages are
waiting (never an empty run while the queue is quiet) and closes after ``run_window`` seconds or
``run_records`` records. Each batch is committed to the store before its messages are acknowledged.
After a failure the consumer waits (exponential backoff) and tries again: a batch the store refused
was given back (RabbitMQ requeue, Kafka rewind) and comes again; a connector whose connection broke
is reopened, and the broker delivers again what was not acknowledged. Either way those messages land
once, because contracts and hashes recognise what is already in the register.

Stopping (SIGTERM, :meth:`ConsumerGroup.stop`) takes no new messages, finishes and acknowledges
what was handed to the running run, and closes that run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from openconnector.connectors.base import Batch, ConnectorError, ReadBase, ReadContext, StrictModel
from openconnector.connectors.messages import QueueConnector
from openconnector.pipelines import PipelineBusy, PipelineRun, RunResult
from openconnector.pipelines.given import GivenRecords
from openconnector.registers import RunLog, Store
from openconnector.registers.runlog import OUTCOMES
from openconnector.timeutil import now_iso

if TYPE_CHECKING:
    from openconnector.config import Project

log = logging.getLogger("openconnector.consume")

RunCallback = Callable[[dict[str, Any]], None]


class ConsumeSettings(StrictModel):
    """Options of a pipeline's ``consume`` trigger (``triggers: [{consume: {run_window: 30}}]``)."""

    run_window: float = Field(default=60.0, gt=0, le=3600, description="Seconds a run stays open at most.")
    run_records: int = Field(default=100_000, ge=1, description="Records a run takes at most.")
    backoff_max: float = Field(default=60.0, ge=0.1, le=3600, description="Longest wait between retries.")


@dataclass
class ConsumeOptions:
    run_window: float = 60.0
    run_records: int = 100_000
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    #: how long the run lock of a consumer that died (SIGKILL) keeps its successor out
    lock_ttl: float = 30.0


class NotConsumable(ValueError):
    """The pipeline's source cannot be consumed continuously, or its consume options are invalid."""


def consume_pipelines(project: Project) -> list[str]:
    """Enabled pipelines with a ``consume`` trigger whose source type supports it (what ``serve``
    starts consumers for)."""
    out = []
    for name, cfg in project.pipelines.items():
        if not cfg.enabled or not any(getattr(t, "consume", False) for t in cfg.triggers):
            continue
        if "consume" in project.connector_for(name).modes:
            out.append(name)
    return out


def options_for(project: Project, pipeline: str, base: ConsumeOptions | None = None) -> ConsumeOptions:
    """The pipeline's consume options: its trigger's settings over ``base``."""
    opts = ConsumeOptions(**vars(base)) if base is not None else ConsumeOptions()
    for trigger in project.pipelines[pipeline].triggers:
        spec = getattr(trigger, "consume", None)
        if isinstance(spec, dict):
            try:
                s = ConsumeSettings.model_validate(spec)
            except ValidationError as exc:
                e = exc.errors()[0]
                where = ".".join(str(p) for p in e["loc"])
                raise NotConsumable(
                    f"pipelines.{pipeline}.triggers consume{'.' + where if where else ''}: {e['msg']}"
                ) from None
            opts.run_window, opts.run_records, opts.backoff_max = s.run_window, s.run_records, s.backoff_max
    return opts


def check_consumable(project: Project, pipeline: str) -> type[QueueConnector]:
    """The pipeline's connector class, if it can be consumed and its consume options are valid;
    :class:`NotConsumable` saying why not otherwise."""
    if pipeline not in project.pipelines:
        raise NotConsumable(f"unknown pipeline {pipeline!r}; known: {', '.join(sorted(project.pipelines))}")
    cls = project.connector_for(pipeline)
    if "consume" not in cls.modes or not issubclass(cls, QueueConnector):
        raise NotConsumable(
            f"pipeline {pipeline!r} reads from a {cls.type!r} source, which cannot be consumed "
            "continuously (rabbitmq and kafka sources can); use `openconnector run` or a schedule"
        )
    options_for(project, pipeline)
    return cls


class _Handed(GivenRecords):
    """A run's view of the consumer's long-lived connector: reads it in follow mode until the run's
    window closes, and never closes it (the consumer does, when it stops).

    A consume run takes the engine's path for records handed in (webhooks, replays): what it reads is
    never the whole source, so it deletes nothing, moves no cursor and is not "suspiciously empty".
    """

    def __init__(self, connector: QueueConnector, window: asyncio.Event) -> None:
        super().__init__([], where="consumed messages")
        self.connector = connector
        self.window = window

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        ctx.follow, ctx.stop = True, self.window
        async for batch in self.connector.read(read, ctx):
            yield batch

    async def aclose(self) -> None:
        return None


class ConsumeRun(PipelineRun):
    """One window of a consumer: a run with trigger ``consume`` over the consumer's connector."""

    def __init__(
        self,
        project: Project,
        store: Store,
        pipeline: str,
        connector: QueueConnector,
        window: asyncio.Event,
        *,
        lock_ttl: float,
        on_progress: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        super().__init__(project, store, pipeline, trigger="consume", on_progress=on_progress)
        self.LOCK_TTL_S = lock_ttl
        self.given = _Handed(connector, window)


class PipelineConsumer:
    """Consumes one pipeline until stopped. :meth:`run_forever` in any event loop;
    :meth:`snapshot` from any thread."""

    def __init__(
        self,
        project: Project,
        store: Store,
        pipeline: str,
        options: ConsumeOptions | None = None,
        on_run: RunCallback | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        cls = check_consumable(project, pipeline)
        cfg = project.pipelines[pipeline]
        self.project = project
        self.store = store
        self.pipeline = pipeline
        self.source = cfg.source
        self.cls: type[QueueConnector] = cls
        self.options = options_for(project, pipeline, options)
        for key, value in (overrides or {}).items():
            if value is not None:
                setattr(self.options, key, value)
        self.on_run = on_run
        self.connector: QueueConnector | None = None
        self.state = "starting"
        self.since = now_iso()
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.runs = 0
        self.records = dict.fromkeys(("read", *OUTCOMES), 0)
        self.last_run: dict[str, Any] | None = None
        self._stats: dict[str, Any] = {}
        self._cleaned = False  # runs left 'running' by a killed predecessor have been marked

    def _set(self, state: str, error: str | None = None) -> None:
        if state != self.state:
            self.state, self.since = state, now_iso()
        if error is not None:
            self.last_error, self.last_error_at = error, now_iso()

    async def run_forever(self, stop: asyncio.Event) -> None:
        opts = self.options
        runlog = RunLog(self.store.engine)
        backoff = opts.backoff_initial
        await asyncio.to_thread(self._mark_abandoned, runlog)
        try:
            while not stop.is_set():
                error: str | None = None
                try:
                    connector = await self._connector()
                    self._set("waiting")
                    ready = await connector.wait_ready(stop)
                    if stop.is_set():
                        await connector.pause()  # one last run for what was already handed to us
                        if not connector.pending():
                            break
                    elif not ready:
                        continue
                    if not self._cleaned:
                        await asyncio.to_thread(self._mark_abandoned, runlog)
                    result = await self._run_once(connector, stop)
                    if result.status == "ok":
                        backoff = opts.backoff_initial
                        continue
                    error = _first_error(result)
                except PipelineBusy as exc:
                    self._set("waiting for lock", str(exc))
                    await _sleep(stop, min(5.0, max(0.2, opts.lock_ttl / 4)))
                    await asyncio.to_thread(self._mark_abandoned, runlog)
                    continue
                except ConnectorError as exc:
                    error = str(exc)
                except SQLAlchemyError as exc:  # the store is away: expected, said in one line
                    error = f"the store is unavailable: {str(exc).splitlines()[0]}"
                except Exception as exc:
                    log.exception("consumer of %s failed", self.pipeline)
                    error = f"{type(exc).__name__}: {exc}"
                # A broken connector is reopened: the broker gives what was not acknowledged again. A
                # working one is kept, with what was delivered to it, so nothing counts as redelivered.
                if self.connector is not None and not self.connector.usable():
                    await self._drop_connector()
                if stop.is_set():
                    break
                self._set("backing off", error)
                log.warning(
                    "consumer of %s: %s; retrying in %.1fs",
                    self.pipeline,
                    error,
                    backoff,
                    extra={"pipeline": self.pipeline},
                )
                await _sleep(stop, backoff)
                backoff = min(backoff * 2, opts.backoff_max)
        finally:
            await self._drop_connector()
            self._set("stopped")

    async def _connector(self) -> QueueConnector:
        if self.connector is None:
            self._set("connecting")
            connector = self.cls(self.source, self.project.sources[self.source])
            try:
                await connector.open(self.project.reads[self.pipeline], self.pipeline)
            except BaseException:
                await connector.aclose()
                raise
            self.connector = connector
            log.info("consumer of %s connected", self.pipeline, extra={"pipeline": self.pipeline})
        return self.connector

    async def _drop_connector(self) -> None:
        connector, self.connector = self.connector, None
        if connector is not None:
            self._stats = connector.stats()
            with contextlib.suppress(Exception):
                await connector.aclose()

    async def _run_once(self, connector: QueueConnector, stop: asyncio.Event) -> RunResult:
        opts = self.options
        loop = asyncio.get_running_loop()
        window = asyncio.Event()
        timer = loop.call_later(opts.run_window, window.set)

        def on_progress(counts: dict[str, int]) -> None:  # from the engine's worker thread
            if counts["read"] >= opts.run_records:
                loop.call_soon_threadsafe(window.set)

        async def pause_on_stop() -> None:
            await stop.wait()
            await connector.pause()

        async def keep_lock() -> None:  # batches extend it too, but a quiet window has none
            runlog = RunLog(self.store.engine)
            while True:
                await asyncio.sleep(opts.lock_ttl / 4)
                with contextlib.suppress(SQLAlchemyError):
                    await asyncio.to_thread(runlog.extend, self.pipeline, run.result.id, opts.lock_ttl)

        run = ConsumeRun(
            self.project,
            self.store,
            self.pipeline,
            connector,
            window,
            lock_ttl=opts.lock_ttl,
            on_progress=on_progress,
        )
        helpers = [asyncio.create_task(pause_on_stop()), asyncio.create_task(keep_lock())]
        self._set("running")
        try:
            result = await run.execute()
        finally:
            timer.cancel()
            for task in helpers:
                task.cancel()
        doc = result.as_dict()
        self.runs += 1
        for k in self.records:
            self.records[k] += result.counts.get(k, 0)
        self.last_run = {
            k: doc[k] for k in ("id", "status", "counts", "started_at", "finished_at", "duration_s")
        }
        log.info(
            "consume run %s of %s: %s (%s)",
            result.id,
            self.pipeline,
            result.status,
            ", ".join(f"{k} {v}" for k, v in result.counts.items() if v) or "nothing read",
            extra={"pipeline": self.pipeline, "run_id": result.id},
        )
        if self.on_run is not None:
            try:
                self.on_run(doc)
            except Exception:
                log.exception("on_run callback failed")
        return result

    def _mark_abandoned(self, runlog: RunLog) -> None:
        """Runs a killed consumer left 'running' become failed once its lock has expired."""
        if runlog.running(self.pipeline) is None:
            n = runlog.mark_interrupted(self.pipeline)
            self._cleaned = True
            if n:
                log.warning(
                    "marked %d run(s) of %s interrupted (left running by a stopped process)", n, self.pipeline
                )

    def snapshot(self) -> dict[str, Any]:
        """Health and metrics: state, last error, runs, records by outcome, messages by outcome and
        (Kafka) lag per partition."""
        connector = self.connector
        stats = connector.stats() if connector is not None else self._stats
        return {
            "pipeline": self.pipeline,
            "source": self.source,
            "type": self.cls.type,
            "state": self.state,
            "since": self.since,
            "healthy": self.state in ("waiting", "running"),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "runs": self.runs,
            "records": dict(self.records),
            "last_run": self.last_run,
            **stats,
        }


def _first_error(result: RunResult) -> str:
    if result.errors:
        return str(result.errors[0].get("message") or result.errors[0])
    return f"run {result.id} ended {result.status}"


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def consume(
    project: Project,
    store: Store,
    pipelines: Iterable[str],
    stop: asyncio.Event,
    *,
    options: ConsumeOptions | None = None,
    on_run: RunCallback | None = None,
    consumers: list[PipelineConsumer] | None = None,
) -> list[PipelineConsumer]:
    """Consume ``pipelines`` in this event loop until ``stop`` is set (the ``consume`` command).
    ``consumers``, if given, are used as they are (built by the caller to check them first)."""
    made = consumers or [PipelineConsumer(project, store, p, options, on_run) for p in pipelines]
    await asyncio.gather(*(c.run_forever(stop) for c in made))
    return made


class ConsumerGroup:
    """Consumers running in their own threads and event loops (under ``serve``, so a consumer's
    decoding and acking never stall the HTTP server's loop). Create with :func:`start_consumers`."""

    def __init__(self, consumers: list[PipelineConsumer]) -> None:
        self.consumers = consumers
        self._threads: list[threading.Thread] = []
        self._loops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._ready = threading.Event()

    def _start(self) -> None:
        for consumer in self.consumers:
            started = threading.Event()

            def target(c: PipelineConsumer = consumer, started: threading.Event = started) -> None:
                async def main() -> None:
                    stop = asyncio.Event()
                    self._loops.append((asyncio.get_running_loop(), stop))
                    started.set()
                    await c.run_forever(stop)

                try:
                    asyncio.run(main())
                except Exception:
                    log.exception("consumer thread of %s died", c.pipeline)
                finally:
                    started.set()

            thread = threading.Thread(
                target=target, name=f"openconnector-consume-{consumer.pipeline}", daemon=True
            )
            thread.start()
            started.wait(5)
            self._threads.append(thread)

    def snapshot(self) -> list[dict[str, Any]]:
        return [c.snapshot() for c in self.consumers]

    @property
    def healthy(self) -> bool:
        """Every consumer is connected (waiting for messages or in a run)."""
        return all(c.state in ("waiting", "running") for c in self.consumers)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every consumer (finish and acknowledge the batch in hand, close the run); True if all
        stopped within ``timeout`` seconds."""
        for loop, stop in self._loops:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    async def astop(self, timeout: float = 30.0) -> bool:
        return await asyncio.to_thread(self.stop, timeout)


def start_consumers(
    project: Project,
    store: Store,
    *,
    pipelines: Iterable[str] | None = None,
    options: ConsumeOptions | None = None,
    on_run: RunCallback | None = None,
) -> ConsumerGroup:
    """Start a consumer thread for each pipeline (default: :func:`consume_pipelines`) and return the
    handle: ``.snapshot()`` for ``/readyz`` and metrics, ``.healthy``, ``.stop()`` / ``await .astop()``.
    ``on_run`` gets each finished run's document (from the consumer's thread)."""
    names = list(pipelines) if pipelines is not None else consume_pipelines(project)
    group = ConsumerGroup([PipelineConsumer(project, store, p, options, on_run) for p in names])
    group._start()
    return group


__all__ = [
    "ConsumeOptions",
    "ConsumeRun",
    "ConsumeSettings",
    "ConsumerGroup",
    "NotConsumable",
    "PipelineConsumer",
    "check_consumable",
    "consume",
    "consume_pipelines",
    "options_for",
    "start_consumers",
]
