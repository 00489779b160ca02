"""Everything ``openconnector serve`` runs, wired together once: the configuration file, the store,
tokens, the run dispatcher, the scheduler, the queue consumers and the metrics. The FastAPI app
reaches it through ``app.state.service``; tests build one around a temporary project."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openconnector.api.configfile import ConfigFile
from openconnector.auth import TokenStore
from openconnector.config import Project
from openconnector.consume import ConsumerGroup, NotConsumable, consume_pipelines, start_consumers
from openconnector.pipelines import PipelineBusy
from openconnector.registers import Store
from openconnector.triggers import Clock, Dispatcher, Metrics, Scheduler, WebhookInbox

log = logging.getLogger("openconnector.service")


@dataclass
class ServiceOptions:
    database_url: str | None = None
    #: overrides ``settings.max_body_bytes`` of the configuration
    max_body_bytes: int | None = None
    shutdown_timeout_s: float = 30.0
    scheduler: bool = True
    clock: Clock | None = None
    #: pipelines to run once as soon as the server is up (``serve --demo``)
    run_at_start: list[str] = field(default_factory=list)
    max_run_records: int = 20_000
    max_queued_records: int = 200_000
    #: a consumer for every enabled pipeline with a ``consume`` trigger (``openconnector consume``
    #: in the server's process, each in its own thread)
    consumers: bool = True


class Service:
    def __init__(self, config_path: Path, options: ServiceOptions | None = None) -> None:
        self.options = options or ServiceOptions()
        self.config = ConfigFile(config_path)
        url = self.options.database_url or self.project.config.settings.database_url
        self.store = Store(url)
        self._sync(self.project)
        self.config.listeners.append(self._sync)
        engine = self.store.engine
        self.tokens = TokenStore(engine)
        self.metrics = Metrics()
        self.inbox = WebhookInbox(engine)
        self.dispatcher = Dispatcher(
            lambda: self.project,
            self.store,
            metrics=self.metrics,
            inbox=self.inbox,
            max_run_records=self.options.max_run_records,
            max_queued_records=self.options.max_queued_records,
        )
        self.scheduler = Scheduler(lambda: self.project, engine, self._fire, clock=self.options.clock)
        self.consumers: ConsumerGroup | None = None
        self._consumed: list[tuple[str, Any, Any]] = []  # what the running consumers consume
        self._consumers_lock = asyncio.Lock()
        self.metrics.watch_consumers(self.consumer_snapshots)
        self.config.listeners.append(self._config_changed)
        self.started = False
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def project(self) -> Project:
        return self.config.project

    @property
    def max_body_bytes(self) -> int:
        return self.options.max_body_bytes or self.project.config.settings.max_body_bytes

    def _sync(self, project: Project) -> None:
        self.store.sync_registers(
            {name: reg.description for name, reg in project.config.registers.items()}, project.schemas
        )

    async def _fire(self, pipeline: str, slot: object) -> None:
        try:
            await self.dispatcher.start_run(pipeline, trigger="schedule")
        except PipelineBusy as exc:
            self.metrics.skipped.labels(pipeline, "schedule").inc()
            log.warning("scheduled run skipped: %s", exc, extra={"pipeline": pipeline})

    # -- queue consumers ------------------------------------------------------------------------------

    def consumer_snapshots(self) -> list[dict[str, Any]]:
        group = self.consumers
        return group.snapshot() if group is not None else []

    async def _start_consumers(self) -> None:
        project = self.project
        names = consume_pipelines(project)
        self._consumed = _consumed_config(project, names)
        if not names:
            return
        try:
            self.consumers = await asyncio.to_thread(
                start_consumers, project, self.store, pipelines=names, on_run=self.metrics.run_finished
            )
        except NotConsumable as exc:  # a consume trigger's settings the loader let through
            log.error("queue consumers not started: %s", exc)
            return
        log.info("consuming %s", ", ".join(names))

    async def _stop_consumers(self) -> None:
        group, self.consumers = self.consumers, None
        if group is not None and not await group.astop(self.options.shutdown_timeout_s):
            log.warning("a queue consumer did not stop within %ss", self.options.shutdown_timeout_s)

    async def _restart_consumers(self) -> None:
        async with self._consumers_lock:
            if (
                self.started
                and _consumed_config(self.project, consume_pipelines(self.project)) != self._consumed
            ):
                await self._stop_consumers()
                await self._start_consumers()

    def _config_changed(self, project: Project) -> None:
        """A changed configuration restarts the consumers when what they consume changed (each
        finishes and acknowledges the batch in hand first)."""
        loop = self.loop
        if (
            self.started
            and self.options.consumers
            and loop is not None
            and not loop.is_closed()
            and _consumed_config(project, consume_pipelines(project)) != self._consumed
        ):
            asyncio.run_coroutine_threadsafe(self._restart_consumers(), loop)

    # -- life cycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.dispatcher.start()
        if self.options.scheduler:
            self.scheduler.start()
        self.started = True
        if self.options.consumers:
            async with self._consumers_lock:
                await self._start_consumers()
        for name in self.options.run_at_start:
            try:
                await self.dispatcher.start_run(name, trigger="manual")
            except Exception as exc:
                log.error("could not start %s: %s", name, exc, extra={"pipeline": name})

    async def stop(self) -> list[str]:
        """Graceful shutdown: no new runs; running ones get ``shutdown_timeout_s`` to finish."""
        await self.scheduler.stop()
        async with self._consumers_lock:
            self.started = False
            await self._stop_consumers()
        interrupted = await self.dispatcher.shutdown(self.options.shutdown_timeout_s)
        await asyncio.to_thread(self.store.dispose)
        self.started = False
        return interrupted


def _consumed_config(project: Project, names: list[str]) -> list[tuple[str, Any, Any]]:
    """What consumers depend on: each consumed pipeline's configuration and its source's (models,
    compared with ``==``, so a changed password counts too)."""
    out = []
    for name in sorted(names):
        cfg = project.pipelines[name]
        out.append((name, cfg, project.sources[cfg.source]))
    return out
