"""A connector's read in a child process: fetching, parsing and converting beside the engine.

In one process the connector (HTTP and JSON parsing, a database driver's row decoding, conversion
to JSON types) and the engine (mapping, validation, store writes) take turns on one interpreter
lock, so a big read uses one core. A child process runs the connector's own :meth:`read`
unchanged on the other core, computes each record's origin id and source hash there (the engine's
own :class:`~openconnector.ids.IdResolver` and
:func:`~openconnector.ids.source_hashes`), and hands over finished batches as pickles, which
cost the engine ~0.6 µs a record to load.

Only for reads whose batches need nothing done after the commit (no ``ack``: not queues, not a
file drop that moves files) and whose connector keeps no state or memory in the context.
Starting the child costs about half a second (a fresh interpreter importing the connector), which
is why connectors decide per read (``read.reader``).

The wire: the parent writes one pickle, ``(type, name, source, read, cursor, full, pipeline)``,
to the child's stdin; the child answers on a private copy of its stdout, widened to hold a batch,
with pickles (:func:`~openconnector.wire.write_message`): ``("batch", records, meta, errors, where,
origins, hashes, warnings)`` per batch, then ``("end", complete, reason, new_cursor, warnings)`` or
``("error", message, where, retryable)``. Only our own child writes to that pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
import traceback
from collections.abc import AsyncGenerator
from typing import IO, Any

from openconnector.connectors.base import Batch, ConnectorError, ReadBase, ReadContext, SourceBase
from openconnector.wire import last_words, read_message, spawn, widen, write_message


class ChildRead:
    """The parent's side: start the child, turn its messages into batches, stop it when done."""

    def __init__(
        self, type_: str, name: str, source: SourceBase, read: ReadBase, ctx: ReadContext, where: str
    ) -> None:
        self.ctx = ctx
        self.where = where
        self._stopped = False
        self._proc, self._stderr = spawn("openconnector.connectors.child")
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._out: IO[bytes] = self._proc.stdout
        widen(self._out)  # the child sends a batch and goes on reading while this process loads it
        arguments = (type_, name, source, read, ctx.cursor, ctx.full, ctx.pipeline)
        with contextlib.suppress(BrokenPipeError):  # a child that died at once says so on receive
            self._proc.stdin.write(pickle.dumps(arguments, 5))
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def receive(self) -> tuple[Any, ...]:
        """The next message (blocking; run it in a thread)."""
        if not self._stopped:
            message = read_message(self._out)
            if message is not None:
                return message
        if self._stopped:  # the connector was closed: the same words as a read in a thread
            raise ConnectorError("the connector was closed during the read", where=self.where)
        code = self._proc.wait()
        raise ConnectorError(
            f"the reader process ended before the read did (exit code {code}){last_words(self._stderr)}",
            where=self.where,
            retryable=True,
        )

    async def batches(self) -> AsyncGenerator[Batch, None]:
        ctx = self.ctx
        pending: asyncio.Future[tuple[Any, ...]] | None = None
        try:
            pending = asyncio.ensure_future(asyncio.to_thread(self.receive))
            while True:
                message = await asyncio.shield(pending)
                pending = None
                kind = message[0]
                if kind == "error":
                    raise ConnectorError(message[1], where=message[2], retryable=message[3])
                if kind == "end":
                    _, complete, reason, new_cursor, warnings = message
                    ctx.warnings.extend(warnings)
                    if not complete:
                        ctx.complete, ctx.reason = False, reason
                    ctx.new_cursor = new_cursor
                    return
                pending = asyncio.ensure_future(asyncio.to_thread(self.receive))  # the child runs ahead
                _, records, meta, errors, where, origins, hashes, warnings = message
                ctx.warnings.extend(warnings)
                yield Batch(records, meta, errors, where=where, origins=origins, hashes=hashes)
        finally:
            if pending is not None:
                self._proc.kill()  # ends the blocked read below with end-of-file
                await asyncio.wait([pending])
                with contextlib.suppress(BaseException):
                    pending.result()
            await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        """End the child (at once if it is still reading) and release its pipes."""
        self._stopped = True
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._out.close()  # waits for a receive() in another thread, which the kill ended
        self._stderr.close()


async def serve(arguments: bytes, out: IO[bytes]) -> None:
    """The child's side: run the read the parent asked for and send what it gives."""
    from openconnector.connectors import get_connector
    from openconnector.ids import IdResolver, source_hashes

    type_, name, source, read, cursor, full, pipeline = pickle.loads(arguments)
    origin_of = IdResolver(read.id)
    ctx = ReadContext(pipeline, cursor=cursor, full=full)
    sent = 0
    try:
        async with get_connector(type_)(name, source) as connector:
            async for batch in connector.read(read, ctx):
                records, metas = batch.records, batch.meta
                origins = origin_of.all(records, metas)
                hashes = source_hashes(records, metas)
                warnings, sent = ctx.warnings[sent:], len(ctx.warnings)
                # in a thread: while the engine is slow to take it, the connector keeps fetching
                message = ("batch", records, metas, batch.errors, batch.where, origins, hashes, warnings)
                await asyncio.to_thread(write_message, out, message)
        write_message(out, ("end", ctx.complete, ctx.reason, ctx.new_cursor, ctx.warnings[sent:]))
    except ConnectorError as exc:
        write_message(out, ("error", Exception.__str__(exc), exc.where, exc.retryable))


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides, then ends us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() from a library must not corrupt the wire
    try:
        asyncio.run(serve(sys.stdin.buffer.read(), out))
    except BrokenPipeError:  # the parent has gone (it stopped reading): nothing to tell
        pass
    except Exception as exc:
        traceback.print_exc()
        with contextlib.suppress(BrokenPipeError):
            failed = f"the reader process failed: {type(exc).__name__}: {exc}"
            write_message(out, ("error", failed, None, False))


if __name__ == "__main__":
    main()
