"""Start runs for every trigger, one run per pipeline at a time, and stop them cleanly.

Each run executes in its own thread with its own event loop, so a long run (its database writes,
its lock waits on a busy SQLite file) never stalls the HTTP server's loop. The database lock of
:class:`~openconnector.registers.RunLog` makes "one run per pipeline" hold across processes; here:

- manual (API) and schedule triggers start at once or not at all (:class:`PipelineBusy`);
- webhook triggers queue: the deliveries that arrive while a pipeline is busy are gathered into the
  *next* run of that pipeline (one run for many bodies, which is also what makes webhook ingestion
  fast), and a pull requested by several webhooks meanwhile happens once.

A queued run already has its id, so a webhook is answered with it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import update

from openconnector import jsonutil
from openconnector.ids import uuid7
from openconnector.pipelines import PipelineBusy, PipelineNotFound, PipelineRun, RunResult
from openconnector.registers import RunLog, Store
from openconnector.registers import tables as t
from openconnector.registers.runlog import empty_counts
from openconnector.timeutil import now_iso
from openconnector.triggers import context
from openconnector.triggers.inbox import WebhookInbox
from openconnector.triggers.metrics import Metrics
from openconnector.triggers.records import BodyError, extract

if TYPE_CHECKING:
    from openconnector.config import Project

log = logging.getLogger("openconnector.triggers")

INTERRUPTED = "run was interrupted: the server shut down before it finished; the next run starts cleanly"


class ShuttingDown(RuntimeError):
    def __init__(self) -> None:
        super().__init__("the server is shutting down; no new runs are started")


class Overloaded(RuntimeError):
    """Too many records wait for this pipeline already; the sender should retry later."""


@dataclass(eq=False)
class Job:
    """A run waiting in a pipeline's queue (webhook triggers)."""

    pipeline: str
    kind: Literal["pull", "records"]
    trigger: str = "webhook"
    run_id: str = field(default_factory=uuid7)
    records: list[Any] = field(default_factory=list)
    reserved: int = 0  # records promised by deliveries still being recorded
    accepted: int = 0  # deliveries that joined this job
    inflight: int = 0
    closed: bool = False
    queued_at: str = field(default_factory=now_iso)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()


@dataclass(eq=False)
class ActiveRun:
    run_id: str
    pipeline: str
    trigger: str
    dry_run: bool
    started: asyncio.Future[None]
    done: asyncio.Future[RunResult]
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None


class _SignallingRunLog(RunLog):
    """Tells the dispatcher the moment the run's row exists (so an API answer can point at it)."""

    def __init__(self, runlog: RunLog, on_start: Callable[[], None]) -> None:
        super().__init__(runlog.engine)
        self._on_start = on_start

    def start(self, run_id: str, pipeline: str, trigger: str, *, dry_run: bool = False) -> str:
        started = super().start(run_id, pipeline, trigger, dry_run=dry_run)
        self._on_start()
        return started


def _settle(fut: asyncio.Future[Any], result: Any = None, exc: BaseException | None = None) -> None:
    if fut.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        fut.cancel()
    elif exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


class Dispatcher:
    def __init__(
        self,
        project: Callable[[], Project],
        store: Store,
        *,
        metrics: Metrics | None = None,
        inbox: WebhookInbox | None = None,
        max_run_records: int = 20_000,
        max_queued_records: int = 200_000,
        busy_retry_s: float = 0.5,
        recovery_age_s: float = 120.0,
        recovery_every_s: float = 60.0,
    ) -> None:
        self.project = project
        self.store = store
        self.runlog = RunLog(store.engine)
        self.metrics = metrics or Metrics()
        self.inbox = inbox or WebhookInbox(store.engine)
        self.max_run_records = max_run_records
        self.max_queued_records = max_queued_records
        self.busy_retry_s = busy_retry_s
        self.recovery_age_s = recovery_age_s
        self.recovery_every_s = recovery_every_s
        self.active: dict[str, ActiveRun] = {}
        self.queues: dict[str, deque[Job]] = {}
        self.workers: dict[str, asyncio.Task[None]] = {}
        self.recent: OrderedDict[str, dict[str, Any]] = OrderedDict()  # dry runs (never stored)
        self._stopping = False
        self._recovery: asyncio.Task[None] | None = None

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Mark runs a dead process left 'running' as interrupted; start re-running stale deliveries."""
        await asyncio.to_thread(self._mark_abandoned)
        self._recovery = asyncio.create_task(self._recover_forever(), name="openconnector-webhook-recovery")

    def _mark_abandoned(self) -> None:
        for name in self.project().pipelines:
            if self.runlog.running(name) is None:
                n = self.runlog.mark_interrupted(name)
                if n:
                    log.warning(
                        "marked %d run(s) of %s interrupted (left running by a stopped process)", n, name
                    )

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def shutdown(self, timeout: float) -> list[str]:
        """Stop starting runs, let running ones finish for up to ``timeout`` seconds, then cancel the
        rest and mark them interrupted. Returns the ids of the interrupted runs."""
        self._stopping = True
        tasks = [*self.workers.values(), *([self._recovery] if self._recovery else [])]
        for task in tasks:
            task.cancel()
        if self.active:
            log.info("waiting up to %.0fs for %d run(s) to finish", timeout, len(self.active))
            await asyncio.wait([a.done for a in self.active.values()], timeout=timeout)
        left = [a for a in self.active.values() if not a.done.done()]
        for a in left:
            if a.loop is not None and a.task is not None:
                with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                    a.loop.call_soon_threadsafe(a.task.cancel)
        if left:
            await asyncio.wait([a.done for a in left], timeout=5)
            await asyncio.to_thread(self._mark_interrupted, left)
            for a in left:
                log.warning("run interrupted by shutdown", extra={"run_id": a.run_id, "pipeline": a.pipeline})
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
        return [a.run_id for a in left]

    def _mark_interrupted(self, runs: list[ActiveRun]) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id.in_([a.run_id for a in runs]), t.runs.c.status == "running")
                .values(
                    status="failed",
                    finished_at=now_iso(),
                    errors=jsonutil.dumps_str([{"message": INTERRUPTED}]),
                )
            )
        for a in runs:
            self.runlog.release(a.pipeline, a.run_id)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queued and running run has finished (tests, ``serve --demo``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.active or any(self.queues.values()):
            if loop.time() > deadline:
                raise TimeoutError("runs still active after the drain timeout")
            await asyncio.sleep(0.02)

    # -- runs that start now or not at all ----------------------------------------------------------

    async def start_run(
        self, pipeline: str, *, trigger: str = "manual", full: bool = False, dry_run: bool = False
    ) -> str:
        """Start a run and return its id once its row exists; :class:`PipelineBusy` if the pipeline
        runs already (here or in another process)."""
        if self._stopping:
            raise ShuttingDown()
        if pipeline not in self.project().pipelines:
            raise PipelineNotFound(pipeline)
        active = self._launch(pipeline, trigger, full=full, dry_run=dry_run)
        await asyncio.shield(active.started)
        return active.run_id

    def _launch(
        self,
        pipeline: str,
        trigger: str,
        *,
        run_id: str | None = None,
        full: bool = False,
        dry_run: bool = False,
        records: list[Any] | None = None,
    ) -> ActiveRun:
        loop = asyncio.get_running_loop()
        active = ActiveRun(
            run_id or uuid7(), pipeline, trigger, dry_run, loop.create_future(), loop.create_future()
        )
        # A run that fails to start (PipelineBusy) fails both futures; a queued run waits only for
        # ``done`` (handled in _finished), so ``started``'s failure is read here: unread, asyncio
        # would log "Future exception was never retrieved" at each retry of a busy pipeline.
        active.started.add_done_callback(_retrieve)
        project = self.project()

        def on_start() -> None:
            loop.call_soon_threadsafe(_settle, active.started)

        async def execute() -> RunResult:
            active.loop = asyncio.get_running_loop()
            active.task = asyncio.current_task()
            run = PipelineRun(
                project,
                self.store,
                pipeline,
                trigger=trigger,
                dry_run=dry_run,
                full=full,
                run_id=active.run_id,
                records=records,
            )
            run.runlog = _SignallingRunLog(run.runlog, on_start)
            if dry_run:  # a dry run writes no row: it has "started" as soon as it exists
                on_start()
            return await run.execute()

        def target() -> None:
            context.bind_run(active.run_id, pipeline)
            try:
                result = asyncio.run(execute())
            except BaseException as exc:
                loop.call_soon_threadsafe(_settle, active.started, None, exc)
                loop.call_soon_threadsafe(_settle, active.done, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, active.started)
                loop.call_soon_threadsafe(_settle, active.done, result)

        self.active[active.run_id] = active
        self.metrics.running.labels(pipeline).inc()
        active.done.add_done_callback(lambda fut: self._finished(active, fut))
        threading.Thread(target=target, name=f"openconnector-run-{pipeline}", daemon=True).start()
        return active

    def _finished(self, active: ActiveRun, fut: asyncio.Future[RunResult]) -> None:
        self.active.pop(active.run_id, None)
        self.metrics.running.labels(active.pipeline).dec()
        extra = {"run_id": active.run_id, "pipeline": active.pipeline}
        if fut.cancelled():
            return
        exc = fut.exception()
        if isinstance(exc, PipelineBusy):
            return
        if exc is not None:
            log.error("run could not be executed: %s: %s", type(exc).__name__, exc, extra=extra)
            return
        doc = fut.result().as_dict()
        if active.dry_run:
            self.recent[active.run_id] = doc
            while len(self.recent) > 200:
                self.recent.popitem(last=False)
        self.metrics.run_finished(doc)
        log.info(
            "run finished: %s (%s)",
            doc["status"],
            ", ".join(f"{k} {v}" for k, v in doc["counts"].items() if v) or "nothing read",
            extra={
                **extra,
                "status": doc["status"],
                "counts": doc["counts"],
                "duration_s": doc["duration_s"],
            },
        )

    # -- webhook triggers: queued runs -------------------------------------------------------------

    def reserve(self, pipeline: str, kind: Literal["pull", "records"], records: int = 0) -> Job:
        """A place in ``pipeline``'s next queued run for one delivery; call :meth:`release` after
        the delivery was recorded (or refused). The job cannot start while reservations are open."""
        if self._stopping:
            raise ShuttingDown()
        q = self.queues.setdefault(pipeline, deque())
        job: Job | None = None
        if kind == "records":
            queued = sum(len(j.records) + j.reserved for j in q if j.kind == "records")
            if queued + records > self.max_queued_records:
                raise Overloaded(
                    f"{queued} records are already waiting for pipeline {pipeline!r}; retry later"
                )
            last = q[-1] if q else None
            if (
                last is not None
                and last.kind == "records"
                and not last.closed
                and len(last.records) + last.reserved + records <= self.max_run_records
            ):
                job = last
        else:
            job = next((j for j in q if j.kind == "pull" and not j.closed), None)
        if job is None:
            job = Job(pipeline, kind)
            q.append(job)
        job.inflight += 1
        job.reserved += records
        job.idle.clear()
        return job

    def release(self, job: Job, records: list[Any] | None, *, accepted: bool, reserved: int = 0) -> None:
        job.inflight -= 1
        job.reserved -= reserved
        if accepted:
            job.accepted += 1
            if records:
                job.records.extend(records)
        if job.inflight == 0:
            job.idle.set()
        self._kick(job.pipeline)

    def _kick(self, pipeline: str) -> None:
        if self._stopping:
            return
        worker = self.workers.get(pipeline)
        if worker is None or worker.done():
            self.workers[pipeline] = asyncio.create_task(
                self._work(pipeline), name=f"openconnector-queue-{pipeline}"
            )

    async def _work(self, pipeline: str) -> None:
        q = self.queues.setdefault(pipeline, deque())
        while q and not self._stopping:
            job = q[0]
            job.closed = True  # deliveries from now on go to the next job
            await job.idle.wait()
            try:
                if job.accepted:
                    await self._run_job(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("queued run failed", extra={"run_id": job.run_id, "pipeline": pipeline})
            q.popleft()

    async def _run_job(self, job: Job) -> None:
        extra = {"run_id": job.run_id, "pipeline": job.pipeline}
        while True:
            if job.pipeline not in self.project().pipelines:
                await asyncio.to_thread(
                    self.inbox.orphan, f"pipeline {job.pipeline!r} is no longer configured", run_id=job.run_id
                )
                log.error("queued run dropped: its pipeline is no longer configured", extra=extra)
                return
            active = self._launch(
                job.pipeline,
                job.trigger,
                run_id=job.run_id,
                records=job.records if job.kind == "records" else None,
            )
            try:
                result = await asyncio.shield(active.done)
            except PipelineBusy:
                if self._stopping:
                    return
                await asyncio.sleep(self.busy_retry_s)
                continue
            break
        if job.kind != "records":
            return
        if result.status == "ok":
            await asyncio.to_thread(self.inbox.done, job.run_id)
        else:
            # The bodies stay pending: the recovery pass hands them to a later run.
            log.warning(
                "webhook records run ended %s; its deliveries stay pending and will be retried",
                result.status,
                extra=extra,
            )

    # -- recovery of deliveries a stopped server accepted but did not run -----------------------------

    async def _recover_forever(self) -> None:
        while not self._stopping:
            try:
                await self.recover()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook recovery pass failed")
            await asyncio.sleep(self.recovery_every_s)

    async def recover(self, older_than_s: float | None = None) -> int:
        """Queue pending webhook deliveries older than ``older_than_s`` again; returns how many."""
        age = self.recovery_age_s if older_than_s is None else older_than_s
        mine = {job.run_id for q in self.queues.values() for job in q} | set(self.active)
        stale = await asyncio.to_thread(self.inbox.claim_stale, age, exclude=mine)
        project = self.project()
        jobs: dict[str, Job] = {}
        for d in stale:
            if d.pipeline not in project.pipelines:
                await asyncio.to_thread(
                    self.inbox.orphan, f"pipeline {d.pipeline!r} is no longer configured", attempt_id=d.id
                )
                continue
            try:
                records = extract(d.body, project.reads[d.pipeline].records)
            except BodyError as exc:
                await asyncio.to_thread(self.inbox.orphan, str(exc), attempt_id=d.id)
                continue
            job = jobs.get(d.pipeline)
            if job is None:
                assert d.run_id is not None
                job = jobs[d.pipeline] = Job(d.pipeline, "records", run_id=d.run_id)
                job.closed = True  # its run id is fixed in the database; no new deliveries join it
                self.queues.setdefault(d.pipeline, deque()).append(job)
            job.records.extend(records)
            job.accepted += 1
        for name, job in jobs.items():
            log.warning(
                "re-running %d record(s) from webhook deliveries a stopped server accepted",
                len(job.records),
                extra={"run_id": job.run_id, "pipeline": name},
            )
            self._kick(name)
        return len(stale)

    # -- what the API shows for a run that has no row yet ----------------------------------------------

    def pending_run(self, run_id: str) -> dict[str, Any] | None:
        if run_id in self.recent:
            return self.recent[run_id]
        for q in self.queues.values():
            for job in q:
                if job.run_id == run_id:
                    return {
                        "id": job.run_id,
                        "pipeline": job.pipeline,
                        "trigger": job.trigger,
                        "status": "queued",
                        "dry_run": False,
                        "counts": empty_counts(),
                        "started_at": None,
                        "finished_at": None,
                        "duration_s": None,
                        "errors": [],
                        "warnings": [],
                        "queued_at": job.queued_at,
                    }
        active = self.active.get(run_id)
        if active is not None and active.dry_run:
            return {
                "id": run_id,
                "pipeline": active.pipeline,
                "trigger": active.trigger,
                "status": "running",
                "dry_run": True,
                "counts": empty_counts(),
                "started_at": None,
                "finished_at": None,
                "duration_s": None,
                "errors": [],
                "warnings": [],
            }
        return None
