"""A run's store writes in a child process, so that batch N commits while batch N+1 is mapped.

Committing a batch (objects, contracts, run log, the audit chain's entries and their SHA-256
links, the SQLite steps themselves) is about half of a first load's time, and in one process it
runs between the mapping of one batch and the next: one core works, the other waits. The writer
process owns one store connection and commits what the engine sends it, one batch at a time, in
the order sent, each in its own transaction as before.

The engine keeps up to :data:`IN_FLIGHT` batches in flight
(:class:`~openconnector.pipelines.engine.PipelineRun`): it sends batch N+1 while the child still
commits N, and waits for N's answer before it sends N+2. The child goes on after a commit that
fails, so the batches sent after it may be committed; the engine hears every answer in flight,
then writes the failed batches again itself, where the failure is handled as it always was
(records the store refuses are isolated and quarantined). A batch that shares an origin id with
one in flight waits for all of them first: its lookups must see those writes, so batches in
flight never share a record and the order in which they land does not matter. Batches that
must do something after their commit (acknowledge messages, move files, remember connector state)
are written by the engine itself, after the batches in flight.

Starting the child costs about a quarter of a second (a fresh interpreter importing the store),
spent on the other core; ``OPENCONNECTOR_WRITER=auto`` (the default) starts it once a run has
spent :data:`AUTO_COMMIT_S` committing and sends it batches once it is ready (the engine writes
itself until then, never waiting), ``process`` at the first batch with something to write
(waiting for it to be ready), ``thread`` never (:mod:`openconnector.pipelines.ahead`).
``openconnector run`` starts the child as it begins, so that it imports while the command loads
its project; ``auto`` then sends it batches from the first that writes, once it is ready. The
child builds each batch's audit entries: a batch that only creates sends just its documents'
canonical bytes; for a batch with updates the child also reads what they replace.

The wire (our own pipes, :func:`~openconnector.wire.write_message`): the engine sends
``("open", url, pipeline, run_id, key, anchor, audit_enabled)`` — the store's URL with its password
and the audit key go over the pipe, never on a command line — and then
``("write", log_seq, BatchWrite, AuditWork | None, only_creates)`` per batch (``log_seq``: the
run-log row the batch follows, ``None`` to go on from the child's own count when batches are in
flight; ``only_creates``: the batch's run log was left out, to be made again from its
``object_inserts``); the child answers
each write with ``("ok", log_seq)`` or ``("failed", message)``, after a first ``("ready",)`` once it
has started (until then the engine writes batches itself).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import select
import signal
import subprocess
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Engine

from openconnector.audit import AuditTrail
from openconnector.audit.changes import BatchHeader, Item, batch_entries, create_entries
from openconnector.audit.entries import Prepared
from openconnector.audit.keys import SigningKey
from openconnector.pipelines.ahead import WRITER_MODULE
from openconnector.registers.batch import BatchWrite, BatchWriter
from openconnector.registers.checkpoint import database_file
from openconnector.wire import claim, last_words, read_message, spawn, widen, write_message

#: seconds a run spends committing in the engine before ``auto`` starts the writer process: about
#: what the child's start costs (~0.3 s of CPU on the other core, which a database server or a
#: reader process may need), so a run pays at most twice what the best choice would have. A
#: 10,000-row incremental database run commits for ~0.1 s and never starts it (started after 2,000
#: objects it took ~0.43 s instead of ~0.36); a first load of 1,000-record batches starts it after
#: ~20 batches, a re-run that changes 10% after ~30
AUTO_COMMIT_S = 0.25

#: batches the engine hands over before it waits for the oldest's answer. With one, each cycle
#: took the slower of the engine's batch and the child's commit, and the commits vary (median
#: ~8 ms, ~100 ms when one crosses the WAL bound and checkpoints): a 1M-row PostgreSQL first load
#: waited ~4 s of ~17.5 on the child while the child waited ~6.4 s on the engine. With two the wait
#: fell to ~1.8 s (15.5-16.6 s a run); a third took it to ~1.3 s without a shorter run
IN_FLIGHT = 2

#: a batch's audit entries, ready for :meth:`AuditTrail.append_prepared`: (header key, entries)
AuditPayload = tuple[tuple[Any, ...], list[Prepared]]
#: what the writer process appends to the chain for a batch: for a batch that only creates, the
#: header key and the created documents' canonical bytes (in ``object_inserts`` order); else the
#: batch's changes (:data:`openconnector.audit.changes.Item`) and their header, to prepare there
AuditWork = (
    tuple[Literal["creates"], tuple[Any, ...], list[bytes]]
    | tuple[Literal["changes"], Sequence[Item], BatchHeader]
)


def can_write_elsewhere(engine: Engine) -> bool:
    """Whether another process can open ``engine``'s database: not an in-memory SQLite."""
    return engine.dialect.name != "sqlite" or database_file(engine) is not None


class WriterProcess:
    """The engine's side: start the child, send it batches, read its answers, stop it."""

    def __init__(self, engine: Engine, pipeline: str, run_id: str, trail: AuditTrail) -> None:
        self._proc, self._stderr = claim(WRITER_MODULE) or spawn(WRITER_MODULE)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout
        widen(self._in)  # a 1,000-record batch of the core benchmark pickles to ~0.5 MiB
        key = trail.key() if trail.enabled else None
        url = engine.url.render_as_string(hide_password=False)
        self._post(("open", url, pipeline, run_id, key, trail.anchor_path, trail.enabled))
        self._ready = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _post(self, message: tuple[Any, ...]) -> None:
        # gone: the answer that never comes says so
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            write_message(self._in, message)

    def ready(self, wait: bool = False) -> bool | None:
        """Whether the child has started and can take a batch; ``None`` if it ended before it was
        ready. ``auto`` never waits: until the child is ready the engine writes itself (a child
        still importing stalled a 10,000-row run by a quarter of a second)."""
        if not self._ready:
            readable, _, _ = select.select([self._out], [], [], None if wait else 0)
            if readable:
                message = read_message(self._out)
                if message is None or message[0] != "ready":
                    return None
                self._ready = True
        return self._ready

    def why_gone(self) -> str:
        code = self._proc.wait()
        return f"the writer process ended (exit code {code}){last_words(self._stderr)}"

    def send(self, log_seq: int | None, write: BatchWrite, audit: AuditWork | None) -> None:
        """Hand over one batch's write (without hooks: they do not cross processes); ``log_seq``
        ``None`` goes on from the run-log rows the child wrote last. The run log of
        a batch that only creates is left out: the child makes it again from ``object_inserts``
        (:func:`created_log`); pickling it was a third of what the batch cost to send."""
        assert not write.extra, "hooks cannot be sent to the writer process"
        creates = _only_creates(write)
        if creates:
            write = dataclasses.replace(write, log=[])
        self._post(("write", log_seq, write, audit, creates))

    def answer(self) -> tuple[bool, int | str]:
        """``(True, log_seq)`` once the oldest batch not yet answered is committed, ``(False, why)``
        if it was not (blocking: call it from the engine's worker thread)."""
        message = read_message(self._out)
        if message is None:
            return False, self.why_gone()
        if message[0] == "ok":
            return True, int(message[1])
        return False, str(message[1])

    def abandon(self) -> None:
        """End the child's input without waiting for it (a run interrupted mid-batch, where another
        thread may still be waiting for an answer): it finishes what it has in hand and exits."""
        with contextlib.suppress(OSError, ValueError):
            self._in.close()

    def close(self, timeout: float = 30.0) -> None:
        """End the child after what it has in hand and release its pipes. A child that never got
        ready was never sent anything: it is stopped at once, not waited for."""
        with contextlib.suppress(OSError, ValueError):
            self._in.close()
        if not self._ready:
            self._proc.kill()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._out.close()
        self._stderr.close()


def _only_creates(write: BatchWrite) -> bool:
    """Whether the batch's run log is one "created" entry per row of ``object_inserts``, in order
    (the engine logs each create as it inserts it, so equal counts mean the same records)."""
    log = write.log
    return bool(log) and len(log) == len(write.object_inserts) and all(e[1] == "created" for e in log)


def created_log(object_inserts: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """The run log of a batch that only creates: ``[origin_id, "created", object_id, None]`` each."""
    return [[row[2], "created", row[0], None] for row in object_inserts]


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The child's side: commit each batch the engine sends, in order, and say how it went."""
    from openconnector.gctuning import tune_for_throughput
    from openconnector.registers.checkpoint import stop_checkpointer
    from openconnector.registers.db import make_engine

    opened = read_message(inp)
    if opened is None:
        return
    _, url, pipeline, run_id, key, anchor, audit_enabled = opened
    engine = make_engine(url)
    writer = BatchWriter(engine, pipeline, run_id)
    tune_for_throughput()  # ~10,000 objects unpickled a batch: few young collections, no full walks
    trail = _trail(engine, key, anchor, audit_enabled)
    write_message(out, ("ready",))
    try:
        while (message := read_message(inp)) is not None:
            _, log_seq, write, audit, creates = message
            if log_seq is not None:  # else the batch follows the one before it here
                writer.log_seq = log_seq
            if creates:
                write.log = created_log(write.object_inserts)
            try:
                if audit is not None:
                    if audit[0] == "creates":
                        header_key, entries = audit[1], create_entries(write.object_inserts, audit[2])
                    else:  # read what the updates replace (committed: every batch before is) and diff
                        header_key, entries = batch_entries(engine, audit[1], audit[2])
                    hook = functools.partial(trail.append_prepared, header_key=header_key, entries=entries)
                    write.extra.append(hook)
                writer.commit(write)
            except Exception as exc:
                trail.discard()
                write_message(out, ("failed", f"{type(exc).__name__}: {exc}"))
                continue
            trail.after_commit()
            write_message(out, ("ok", writer.log_seq))
    finally:
        stop_checkpointer(engine)
        engine.dispose()


def _trail(engine: Engine, key: SigningKey | None, anchor: Path | None, enabled: bool) -> AuditTrail:
    """The engine's audit trail, as configured in the engine's process (key, anchor file)."""
    trail = AuditTrail(engine, key=key, anchor=anchor, use_anchor=anchor is not None)
    trail.enabled = enabled
    return trail


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the engine decides, then closes our stdin
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() from a library must not corrupt the wire
    try:
        serve(sys.stdin.buffer, out)
    except BrokenPipeError:  # the engine has gone: nothing to tell
        pass
    except Exception:
        traceback.print_exc()  # the engine reads our last words when the answer does not come
        sys.exit(1)


if __name__ == "__main__":
    main()
