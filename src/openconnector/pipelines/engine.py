"""One pull run, end to end: trigger → read → process batches → deletes → finish.

Honest accounting (``read = created + updated + unchanged + filtered + quarantined + failed``),
no deletes after an incomplete read, one transaction per batch, and the cursor advanced only after
a complete read. Processing and store writes run in a worker thread so the connector keeps
fetching the next page meanwhile; a run that writes much hands its commits to a writer process
(:mod:`openconnector.pipelines.writer`) and maps the next batch while one is committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openconnector.config import Project
from openconnector.audit import AuditTrail
from openconnector.audit.changes import BatchHeader, batch_entries, deletion_hook, header_key
from openconnector.connectors.base import Batch, ConnectorError, ReadBase, ReadContext
from openconnector.connectors.memory import Memory, MemoryChanges
from openconnector.ids import source_hashes, uuid7
from openconnector.jsonutil import dumps_str, loads, split_path
from openconnector.pipelines.ahead import writer_mode, writer_started_ahead
from openconnector.pipelines.given import GivenRecords
from openconnector.pipelines.process import (
    BatchOutcome,
    IdResolver,
    RunPlan,
    batch_origins,
    cursor_max,
    identity,
    process_batch,
    quarantine_row,
)
from openconnector.pipelines.refused import (
    NUL_NOTE,
    halves,
    has_nul,
    refused,
    size,
    store_message,
    without_nul,
)
from openconnector.pipelines.writer import (
    AUTO_COMMIT_S,
    IN_FLIGHT,
    AuditPayload,
    AuditWork,
    WriterProcess,
    can_write_elsewhere,
)
from openconnector.registers.batch import BatchWrite, BatchWriter
from openconnector.registers.memory import load_memory
from openconnector.registers.runlog import PipelineBusy, RunLog, empty_counts
from openconnector.registers.store import Store
from openconnector.timeutil import now_iso

log = logging.getLogger("openconnector.run")

ProgressFn = Callable[[dict[str, int]], None]


@dataclass
class RunResult:
    id: str
    pipeline: str
    trigger: str
    status: str = "running"
    counts: dict[str, int] = field(default_factory=empty_counts)
    started_at: str = ""
    finished_at: str | None = None
    duration_s: float | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pipeline": self.pipeline,
            "trigger": self.trigger,
            "status": self.status,
            "counts": self.counts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "errors": self.errors,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
        }


class PipelineNotFound(KeyError):
    pass


@dataclass
class _InFlight:
    """A batch handed to the writer process, not yet answered: written again here if it fails."""

    batch: Batch
    outcome: BatchOutcome
    origins: set[str]


def compile_plan(
    project: Project, store: Store, pipeline: str, run_id: str, *, full: bool, actor: str | None = None
) -> tuple[RunPlan, ReadBase]:
    """Compile mapping, filter and schema once for the run."""
    from openconnector.mapping import compile_expression, compile_mapping

    cfg = project.pipelines[pipeline]
    read = project.reads[pipeline]
    register, schema_name = cfg.target.split("/", 1)
    schema = store.compiled_schema(register, schema_name)
    apply: Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]] = identity
    mapping_version = None
    if cfg.mapping:
        mapping = compile_mapping(cfg.mapping, project.mappings[cfg.mapping], resolver=project.mappings.get)
        apply, mapping_version = mapping.apply, mapping.version
    keep = None
    if cfg.filter:
        expr = compile_expression(cfg.filter)

        def keep(record: dict[str, Any], meta: dict[str, Any] | None) -> bool:
            return bool(expr({**record, "_meta": meta} if meta is not None else record))

    cursor_path = split_path(read.incremental.cursor) if read.incremental else None
    plan = RunPlan(
        pipeline=pipeline,
        run_id=run_id,
        register=register,
        schema_name=schema_name,
        schema=schema,
        mapping_name=cfg.mapping,
        mapping_version=mapping_version,
        apply=apply,
        keep=keep,
        origin_id=IdResolver(read.id),
        cursor_path=cursor_path,
        full=full,
        actor=actor or f"pipeline:{pipeline}",
    )
    return plan, read


def _quarantine_verdict(plan: RunPlan, one: Batch) -> tuple[str, list[dict[str, Any]]] | None:
    """The stage and errors a single-record batch was quarantined with, if it was."""
    if not one.records:
        err = one.errors[0]
        return "read", [{"path": err.where or "", "message": err.error}]
    try:
        outcome = process_batch(plan, one, {}, set())
    except Exception:
        return None
    if not outcome.write.quarantine:
        return None
    row = outcome.write.quarantine[0]
    return str(row["stage"]), list(loads(row["errors"]))


class _Refused(Exception):
    """A batch held data the store would not take; ``error`` is what the store said."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class PipelineRun:
    """Executes one run. Create with :func:`run_pipeline` unless you need the pieces."""

    LOCK_TTL_S = 120.0

    def __init__(
        self,
        project: Project,
        store: Store,
        pipeline: str,
        *,
        trigger: str = "manual",
        dry_run: bool = False,
        full: bool = False,
        on_progress: ProgressFn | None = None,
        run_id: str | None = None,
        records: Sequence[Any] | None = None,
        records_meta: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        if pipeline not in project.pipelines:
            raise PipelineNotFound(pipeline)
        self.project = project
        self.store = store
        self.pipeline = pipeline
        self.trigger = trigger
        self.dry_run = dry_run
        self.full = full
        self.on_progress = on_progress
        self.given = (
            None if records is None else GivenRecords(records, records_meta, where=f"{trigger} records")
        )
        self.runlog = RunLog(store.engine)
        self.audit = AuditTrail.for_engine(store.engine)
        #: called with each processed batch and its outcome before it is written (also in a dry run)
        self.on_batch: list[Callable[[Batch, BatchOutcome], None]] = []
        self.result = RunResult(run_id or uuid7(), pipeline, trigger, dry_run=dry_run)
        self._last_extend = time.monotonic()
        self._state_saved = ""  # the connector state as last stored (JSON text)
        # The writer process (pipelines/writer.py): started when a run has much to write.
        self._remote: WriterProcess | None = None
        self._inflight: deque[_InFlight] = deque()  # oldest first, as the child answers
        self._remote_off = True  # no writer process for this run (decided in _run)
        self._remote_auto = True  # started by how much the run writes, not at once
        self._commit_s = 0.0  # spent committing in this process (auto starts the writer by it)
        self._busy = False  # the worker thread is in a batch

    async def execute(self) -> RunResult:
        r = self.result
        started = time.perf_counter()
        r.started_at = now_iso()
        if not self.dry_run:
            self.runlog.acquire(self.pipeline, r.id, self.LOCK_TTL_S)
            try:
                self.runlog.start(r.id, self.pipeline, self.trigger)
            except BaseException:
                self.runlog.release(self.pipeline, r.id)
                raise
        try:
            await self._run()
        except Exception as exc:  # anything unexpected: the run fails, honestly, and says why
            log.exception("run %s of %s failed", r.id, self.pipeline)
            r.status = "failed"
            r.errors.append(
                {
                    "message": f"internal error: {type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=5),
                }
            )
        except BaseException as exc:  # Ctrl-C, a cancelled task: the run stops here, and says so
            r.status = "partial" if r.counts["read"] else "failed"
            r.errors.append({"message": f"the run was interrupted ({type(exc).__name__})"})
            raise
        finally:
            r.duration_s = round(time.perf_counter() - started, 3)
            r.finished_at = now_iso()
            if not self.dry_run:
                try:
                    self.runlog.finish(
                        r.id,
                        status=r.status,
                        counts=r.counts,
                        errors=r.errors,
                        warnings=r.warnings,
                        duration_s=r.duration_s,
                    )
                finally:
                    self.runlog.release(self.pipeline, r.id)
        return r

    async def _run(self) -> None:
        r = self.result
        cfg = self.project.pipelines[self.pipeline]
        state = self.runlog.state(self.pipeline)
        try:
            plan, read = compile_plan(
                self.project,
                self.store,
                self.pipeline,
                r.id,
                full=self.full,
                actor="replay" if self.trigger == "replay" else None,
            )
            mode = writer_mode()
        except Exception as exc:
            r.status = "failed"
            r.errors.append({"message": f"cannot prepare the run: {exc}"})
            return
        cursor = None
        if read.incremental and not self.full:
            cursor = state.cursor if state.cursor is not None else read.incremental.start
        self._state_saved = dumps_str(state.connector_state)
        ctx = ReadContext(
            pipeline=self.pipeline,
            cursor=cursor,
            full=self.full,
            state=dict(state.connector_state),
            memory=Memory(load_memory(self.store.engine, self.pipeline)),
            log=logging.getLogger(f"openconnector.run.{self.pipeline}"),
        )
        source_name = cfg.source
        connector_cls = self.project.connector_for(self.pipeline)
        # Records handed in (webhook, replay) are never the whole source: no deletes, no cursor move.
        # Queues deliver what is waiting, never the whole set: a queue read is never complete either.
        streams = "consume" in getattr(connector_cls, "modes", ())
        can_delete = cfg.on_missing == "delete" and cursor is None and self.given is None and not streams
        plan.mark_seen = can_delete and not self.dry_run
        self._remote_off = (
            mode == "thread"
            or self.dry_run
            or self.given is not None
            or streams
            or not can_write_elsewhere(self.store.engine)
        )
        self._remote_auto = mode == "auto"
        writer = BatchWriter(self.store.engine, self.pipeline, r.id)
        processed_batches = 0
        max_cursor: Any = None
        read_failed = False
        try:
            connector = self.given or connector_cls(source_name, self.project.sources[source_name])
        except Exception as exc:
            r.status = "failed"
            r.errors.append({"message": f"source {source_name!r}: {exc}"})
            return
        try:
            async with connector:
                async for batch in connector.read(read, ctx):
                    try:
                        outcome = await asyncio.to_thread(self._process, plan, writer, batch, ctx)
                    except BaseException as exc:
                        if batch.nack is not None and not self.dry_run:
                            await batch.nack(exc)
                        raise
                    processed_batches += 1
                    max_cursor = cursor_max(max_cursor, outcome.max_cursor)
                    if batch.ack is not None and not self.dry_run:
                        await batch.ack()
                    self._after_batch()
        except ConnectorError as exc:
            read_failed = True
            r.errors.append({"message": str(exc), "where": exc.where})
        except Exception as exc:
            read_failed = True
            r.errors.append({"message": f"{type(exc).__name__}: {exc}"})
            log.exception("read of %s failed", self.pipeline)
        except BaseException:
            self._interrupted(plan, writer, ctx)
            raise
        if self._remote is not None or self._inflight:
            try:  # the batches in flight are committed (or written here) before anything else
                await asyncio.to_thread(self._stop_writer, plan, writer, ctx)
            except ConnectorError as exc:
                read_failed = True
                r.errors.append({"message": str(exc), "where": exc.where})
        r.warnings.extend(w for w in ctx.warnings if w not in r.warnings)

        complete = ctx.complete and not read_failed and self.given is None and not streams
        if read_failed:
            r.status = "partial" if processed_batches else "failed"
        elif not ctx.complete:
            r.status = "partial"
        else:
            r.status = "ok"
        if (
            complete
            and r.counts["read"] == 0
            and (state.last_read or self.runlog.has_contracts(self.pipeline))
        ):
            r.warnings.append(
                "read 0 records from a source that returned records before; treated as incomplete"
            )
            complete = False
            r.status = "partial"

        # An incremental read returns only what changed: absence from it says nothing. Deletes
        # follow only a complete read of everything (first run, --full, or no incremental cursor).
        read_everything = cursor is None
        if complete and cfg.on_missing == "delete" and not self.dry_run and not read_everything:
            r.warnings.append(
                "on_missing: delete applies to full reads only (first run or --full); "
                "this incremental run deleted nothing"
            )
        if complete and plan.mark_seen:  # on_missing: delete, a full read, not a dry run
            await asyncio.to_thread(self._delete_missing, writer)
        if not self.dry_run:
            await asyncio.to_thread(self._save_connector, writer, ctx)
            new_cursor = ctx.new_cursor if ctx.new_cursor is not None else max_cursor
            if complete and read.incremental and new_cursor is not None:
                self.runlog.save_state(self.pipeline, cursor=new_cursor, last_read=r.counts["read"])
            elif complete:
                self.runlog.save_state(self.pipeline, last_read=r.counts["read"])

    def _process(self, plan: RunPlan, writer: BatchWriter, batch: Batch, ctx: ReadContext) -> BatchOutcome:
        self._busy = True
        try:
            return self._process_batch(plan, writer, batch, ctx)
        finally:
            self._busy = False

    def _process_batch(
        self, plan: RunPlan, writer: BatchWriter, batch: Batch, ctx: ReadContext
    ) -> BatchOutcome:
        try:
            outcome, memory, origins = self._prepare(plan, writer, batch, ctx)
            if self._remote is not None and self._sendable(batch, outcome, memory) and self._remote_ready():
                return self._send(plan, writer, batch, ctx, outcome, origins)
            self._settle(plan, writer, ctx)
            self._commit(plan, writer, batch, ctx, outcome, memory)
        except _Refused as refusal:
            self._settle(plan, writer, ctx)
            return self._isolate(plan, writer, batch, ctx, refusal.error)
        self._start_writer(outcome.write)
        return outcome

    def _attempt(self, plan: RunPlan, writer: BatchWriter, batch: Batch, ctx: ReadContext) -> BatchOutcome:
        """Process and write one batch in one transaction; :class:`_Refused` if it holds data the
        store will not take (nothing of it is written then)."""
        outcome, memory, _ = self._prepare(plan, writer, batch, ctx)
        self._commit(plan, writer, batch, ctx, outcome, memory)
        return outcome

    def _prepare(
        self, plan: RunPlan, writer: BatchWriter, batch: Batch, ctx: ReadContext
    ) -> tuple[BatchOutcome, MemoryChanges, list[str]]:
        """Look up, map and validate one batch: its outcome (not yet written), what it took from
        the connector's memory, and its records' origin ids."""
        try:
            origins = batch_origins(plan, batch)
            known = [o for o in origins if o is not None]
            if any(not flight.origins.isdisjoint(known) for flight in self._inflight):
                self._settle(plan, writer, ctx)  # its lookups must see the batches in flight
            hashes = batch.hashes if batch.hashes is not None else source_hashes(batch.records, batch.meta)
            unchanged: dict[int, str] = {}
            if plan.full:
                contracts = writer.load_contracts(known) if known else {}
            else:
                contracts, unchanged = writer.lookup(origins, hashes, plan.mapping_version, plan.schema.hash)
            outcome = process_batch(plan, batch, contracts, set(), origins, hashes, unchanged)
        except Exception as exc:
            if refused(exc) and not self.dry_run:
                raise _Refused(exc) from exc
            raise
        memory = self._connector_changes(ctx, outcome.write)
        for hook in self.on_batch:
            hook(batch, outcome)
        return outcome, memory, known

    def _commit(
        self,
        plan: RunPlan,
        writer: BatchWriter,
        batch: Batch,
        ctx: ReadContext,
        outcome: BatchOutcome,
        memory: MemoryChanges,
    ) -> None:
        """Write a prepared batch here, in one transaction, and count it."""
        if not self.dry_run:
            started = time.perf_counter()  # with the audit entries: the writer process would build them
            if outcome.audit and self.audit.enabled:
                trail, (header, entries) = self.audit, self._audit(plan, outcome)
                outcome.write.extra.append(lambda conn: trail.append_prepared(conn, header, entries))
            try:
                writer.commit(outcome.write)
            except Exception as exc:
                ctx.memory.give_back(memory)
                self.audit.discard()
                if refused(exc):
                    raise _Refused(exc) from exc
                raise ConnectorError(
                    f"could not write batch{f' ({batch.where})' if batch.where else ''} "
                    f"to the store: {type(exc).__name__}: {exc}"
                ) from exc
            self.audit.after_commit()
            self._commit_s += time.perf_counter() - started
            if outcome.write.connector_state is not None:
                self._state_saved = outcome.write.connector_state
        self._account(outcome)

    # -- the writer process --------------------------------------------------------------------

    def _sendable(self, batch: Batch, outcome: BatchOutcome, memory: MemoryChanges) -> bool:
        """Whether a batch can be committed by the writer process: nothing of it must happen after
        its commit (acks, moved files) and it carries no connector state or memory."""
        w = outcome.write
        return (
            batch.ack is None
            and batch.nack is None
            and not memory
            and w.connector_state is None
            and not w.extra
        )

    def _remote_ready(self) -> bool:
        assert self._remote is not None
        ready = self._remote.ready(wait=not self._remote_auto)
        if ready is None:
            log.warning("%s: %s; writing in this process", self.pipeline, self._remote.why_gone())
            self._close_writer()
            return False
        return ready

    def _send(
        self,
        plan: RunPlan,
        writer: BatchWriter,
        batch: Batch,
        ctx: ReadContext,
        outcome: BatchOutcome,
        origins: list[str],
    ) -> BatchOutcome:
        """Hand a prepared batch to the writer process, once fewer than :data:`IN_FLIGHT` are
        waiting for their answer.

        The writer process prepares its audit entries: for a batch that only creates, from the
        documents' canonical bytes alone (:func:`create_entries`); with updates, from the batch's
        changes and what they replace, which it reads itself, taking that work off this process."""
        audit: AuditWork | None = None
        if outcome.audit and self.audit.enabled:
            if all(item[1] == "create" for item in outcome.audit):
                key = header_key(self._audit_header(plan))
                audit = ("creates", key, [item[4] for item in outcome.audit])
            else:
                audit = ("changes", outcome.audit, self._audit_header(plan))
        self._settle(plan, writer, ctx, keep=IN_FLIGHT - 1)
        remote = self._remote
        if remote is None:  # it failed a batch before: this one is written here (audit built again)
            self._commit(plan, writer, batch, ctx, outcome, MemoryChanges())
            return outcome
        # with batches in flight this process's count of run-log rows is behind the child's
        remote.send(None if self._inflight else writer.log_seq, outcome.write, audit)
        self._inflight.append(_InFlight(batch, outcome, set(origins)))
        return outcome

    def _settle(self, plan: RunPlan, writer: BatchWriter, ctx: ReadContext, keep: int = 0) -> None:
        """Wait for answers until at most ``keep`` batches are in flight. If the writer process
        could not commit one, hear what it did with the others sent after it, stop using that
        process and write each batch it did not commit here (as if it had never been sent)."""
        failed: list[_InFlight] = []
        while len(self._inflight) > (0 if failed else keep):
            flight = self._inflight.popleft()
            assert self._remote is not None
            committed, answer = self._remote.answer()
            if committed:
                writer.log_seq = int(answer)
                self._account(flight.outcome)
                continue
            log.warning(
                "%s: the writer process did not commit a batch (%s); writing it in this process",
                self.pipeline,
                answer,
            )
            failed.append(flight)
        if not failed:
            return
        self._close_writer()
        for flight in failed:
            try:
                self._attempt(plan, writer, flight.batch, ctx)
            except _Refused as refusal:
                self._isolate(plan, writer, flight.batch, ctx, refusal.error)

    def _start_writer(self, written: BatchWrite) -> None:
        """``auto``: once the run has spent :data:`AUTO_COMMIT_S` committing here (a run that commits
        for less is over before the child's start pays for itself), or at the first batch that
        writes when the command started a child ahead (``openconnector run``: its start is paid);
        ``process``: at the first batch that writes."""
        if self._remote_off or self._remote is not None:
            return
        objects = len(written.object_inserts) + len(written.object_updates)
        if objects and (not self._remote_auto or self._commit_s >= AUTO_COMMIT_S or writer_started_ahead()):
            try:
                self._remote = WriterProcess(self.store.engine, self.pipeline, self.result.id, self.audit)
            except OSError as exc:  # no process to be had (limits): the run writes here, as before
                log.warning("%s: no writer process (%s); writing in this process", self.pipeline, exc)
                self._remote_off = True

    def _interrupted(self, plan: RunPlan, writer: BatchWriter, ctx: ReadContext) -> None:
        """A run interrupted (Ctrl-C, a cancelled task) with a writer process."""
        if self._remote is None:
            return
        if self._busy:  # the worker thread is still in a batch: it must not race us for the answer
            self._remote.abandon()  # the child commits what it has in hand, or not, and ends
            return
        try:  # interrupted between batches: the one in flight is committed and counted
            self._stop_writer(plan, writer, ctx)
        except Exception as exc:
            log.error("%s: the batch in flight when the run was interrupted: %s", self.pipeline, exc)

    def _stop_writer(self, plan: RunPlan, writer: BatchWriter, ctx: ReadContext) -> None:
        try:
            self._settle(plan, writer, ctx)
        finally:
            self._close_writer()

    def _close_writer(self) -> None:
        remote, self._remote = self._remote, None
        self._remote_off = True  # one writer process per run at most
        if remote is not None:
            remote.close()

    def _isolate(
        self, plan: RunPlan, writer: BatchWriter, batch: Batch, ctx: ReadContext, error: BaseException
    ) -> BatchOutcome:
        """Write ``batch`` in halves until the records the store refuses stand alone; those are
        quarantined as failed (:mod:`openconnector.pipelines.refused`)."""
        if size(batch) == 1:
            return self._reject(plan, writer, batch, error)
        merged = BatchOutcome(write=BatchWrite(), counts={})
        for part in halves(batch):
            if not size(part):
                continue
            try:
                outcome = self._attempt(plan, writer, part, ctx)
            except _Refused as refusal:
                outcome = self._isolate(plan, writer, part, ctx, refusal.error)
            merged.max_cursor = cursor_max(merged.max_cursor, outcome.max_cursor)
        return merged

    def _reject(self, plan: RunPlan, writer: BatchWriter, one: Batch, error: BaseException) -> BatchOutcome:
        if one.records:
            record = one.records[0]
            meta = one.meta[0] if one.meta is not None else None
            origin = batch_origins(plan, one)[0]
        else:
            err = one.errors[0]
            record, origin = err.raw, err.origin_id
            meta = {"where": err.where} if err.where else None
        message = f"the store refused this record: {store_message(error)}"
        # It may have been on its way to the quarantine already (bad row, mapping, schema): its
        # stage and errors stay, and it counts as quarantined; otherwise the write failed.
        stage, outcome_name = "write", "failed"
        errors: list[dict[str, Any]] = []
        earlier = _quarantine_verdict(plan, one)
        if earlier is not None:
            (stage, errors), outcome_name = earlier, "quarantined"
        errors.append({"path": "", "message": message})
        if has_nul((record, meta, origin)):
            record, meta, origin = without_nul(record), without_nul(meta), without_nul(origin)
            errors.append({"path": "", "message": NUL_NOTE})
        now = now_iso()
        try:
            row = quarantine_row(plan, origin, record, meta, stage, errors, now)
        except (TypeError, ValueError):  # not even JSON (an integer beyond 64 bits): kept as text
            errors.append({"path": "", "message": "the record is kept as text: it cannot be encoded as JSON"})
            row = quarantine_row(plan, origin, repr(record), repr(meta), stage, errors, now)
        w = BatchWrite(quarantine=[row], log=[[origin, outcome_name, None, message]])
        try:
            writer.commit(w)
        except Exception as exc:
            raise ConnectorError(
                f"could not write{f' ({one.where})' if one.where else ''} to the store, nor quarantine "
                f"the record it refused ({message}): {type(exc).__name__}: {exc}"
            ) from exc
        outcome = BatchOutcome(write=w, counts={"read": 1, outcome_name: 1})
        outcome.sample_errors.append({"origin_id": origin, "stage": stage, "message": message})
        self._account(outcome)
        log.warning("%s: record %s quarantined: %s", self.pipeline, origin, message)
        return outcome

    def _connector_changes(self, ctx: ReadContext, w: BatchWrite) -> MemoryChanges:
        """What the connector changed in its state and memory goes with the batch being committed:
        the state document only when it differs from what is stored, the memory key by key."""
        encoded = dumps_str(ctx.state)
        if encoded != self._state_saved:
            w.connector_state = encoded
        changes = ctx.memory.take_changes()
        w.memory_set, w.memory_removed = changes.values, changes.removed
        return changes

    def _save_connector(self, writer: BatchWriter, ctx: ReadContext) -> None:
        """Changes made after the last batch (files found gone, touched files whose content hash
        matched, a state migrated on read) are stored at the end of the run, whatever its status."""
        w = BatchWrite()
        memory = self._connector_changes(ctx, w)
        if w.connector_state is None and not memory:
            return
        try:
            writer.commit(w)
        except Exception as exc:
            ctx.memory.give_back(memory)
            self.result.warnings.append(
                f"could not save what the connector remembers: {type(exc).__name__}: {exc}"
            )
            return
        if w.connector_state is not None:
            self._state_saved = w.connector_state

    def _audit(self, plan: RunPlan, outcome: BatchOutcome) -> AuditPayload:
        """Audit entries for the batch's changes, to append inside the batch's transaction."""
        return batch_entries(self.store.engine, outcome.audit, self._audit_header(plan))

    def _audit_header(self, plan: RunPlan) -> BatchHeader:
        """What every audit entry of this run's batches shares (:func:`batch_entries`' header)."""
        return {
            "register": plan.register,
            "schema": plan.schema_name,
            "actor": plan.actor,
            "run_id": plan.run_id,
            "pipeline": plan.pipeline,
            "source": self.project.pipelines[self.pipeline].source,
            "mapping": plan.mapping_name,
            "mapping_version": plan.mapping_version,
        }

    def _account(self, outcome: BatchOutcome) -> None:
        r = self.result
        for k, v in outcome.counts.items():
            r.counts[k] += v
        if outcome.duplicates:
            msg = "duplicate origin ids in this read; the later record was applied"
            if msg not in r.warnings:
                r.warnings.append(msg)
        for e in outcome.sample_errors:
            if len(r.errors) < 50:
                r.errors.append(e)
        if self.on_progress is not None:
            self.on_progress(dict(r.counts))

    def _after_batch(self) -> None:
        if self.dry_run:
            return
        now = time.monotonic()
        if now - self._last_extend > self.LOCK_TTL_S / 4:
            self.runlog.extend(self.pipeline, self.result.id, self.LOCK_TTL_S)
            self.runlog.progress(self.result.id, self.result.counts)
            self._last_extend = now

    def _delete_missing(self, writer: BatchWriter) -> None:
        while True:
            rows = writer.missing()
            if not rows:
                return
            hooks = []
            if self.audit.enabled:
                hooks.append(
                    deletion_hook(
                        self.audit,
                        rows,
                        actor=f"pipeline:{self.pipeline}",
                        run_id=self.result.id,
                        pipeline=self.pipeline,
                        source=self.project.pipelines[self.pipeline].source,
                    )
                )
            writer.delete(rows, now_iso(), hooks)
            self.audit.after_commit()
            self.result.counts["deleted"] += len(rows)
            if self.on_progress is not None:
                self.on_progress(dict(self.result.counts))


async def run_pipeline(project: Project, store: Store, pipeline: str, **kw: Any) -> RunResult:
    """Run ``pipeline`` once and return its result (never raises for run failures; raises
    :class:`PipelineBusy` if another run holds the pipeline, :class:`PipelineNotFound` if unknown)."""
    return await PipelineRun(project, store, pipeline, **kw).execute()


__all__ = ["PipelineBusy", "PipelineNotFound", "PipelineRun", "RunResult", "run_pipeline"]
