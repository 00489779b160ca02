"""Everything ``openconnector serve`` runs, wired together once: the configuration file, the store,
tokens, the run dispatcher, the scheduler and the metrics. The FastAPI app reaches it through
``app.state.service``; tests build one around a temporary project."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from openconnector.api.configfile import ConfigFile
from openconnector.auth import TokenStore
from openconnector.config import Project
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

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.dispatcher.start()
        if self.options.scheduler:
            self.scheduler.start()
        self.started = True
        for name in self.options.run_at_start:
            try:
                await self.dispatcher.start_run(name, trigger="manual")
            except Exception as exc:
                log.error("could not start %s: %s", name, exc, extra={"pipeline": name})

    async def stop(self) -> list[str]:
        """Graceful shutdown: no new runs; running ones get ``shutdown_timeout_s`` to finish."""
        await self.scheduler.stop()
        interrupted = await self.dispatcher.shutdown(self.options.shutdown_timeout_s)
        await asyncio.to_thread(self.store.dispose)
        self.started = False
        return interrupted
