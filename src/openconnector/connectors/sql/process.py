"""A database read in a child process: fetching and converting rows beside the engine, not under it.

In one process the driver's row parsing (PyMySQL's is pure Python), the conversion to JSON types
and the engine's mapping, validation and store writes all take turns on one interpreter lock, so a
big read uses one core. A child process runs the very same steps (:meth:`SqlConnector.start`,
:meth:`SqlConnector.next_chunk`) on the other core and hands over finished chunks as pickles, which
cost the engine ~0.6 µs a row to load against several µs to fetch and convert.

Starting the child costs about half a second (a fresh interpreter importing the driver), so
``read.reader: auto`` only pays it for a full read of a table the database estimates at
:data:`CHILD_READ_ROWS` rows or more; ``thread`` and ``process`` force either way.

The wire: the parent writes one pickle, ``(name, source, read, cursor, full, pipeline)``, to the
child's stdin; the child answers on a private copy of its stdout with length-prefixed pickles:
``("warnings", [...])`` once planned, ``("chunk", Chunk, origin ids, source hashes)`` per chunk
(the ids and hashes the engine would compute, so it need not: :class:`Batch`), then ``("end", new_cursor,
[warnings])`` or ``("error", message, where, retryable)``. Only our own child writes to that pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import AsyncGenerator
from typing import IO, Any

import sqlalchemy as sa

from openconnector.connectors.base import Batch, ConnectorError, ReadContext
from openconnector.connectors.sql.config import SqlRead, SqlSource
from openconnector.connectors.sql.reader import Chunk
from openconnector.connectors.sql.statements import split_table
from openconnector.jsonutil import content_hash

#: ``read.reader: auto`` reads a table in a child process from this many (estimated) rows on
CHILD_READ_ROWS = 100_000

_HEADER = 8  # bytes of the big-endian length before each pickle


def estimated_rows(engine: sa.Engine, source: SqlSource, table: str) -> int:
    """The database's own estimate of a table's rows (statistics, no scan); 0 when it has none."""
    schema, name = split_table(table, source.schema_)
    dialect = engine.dialect.name
    try:
        with engine.connect() as conn:
            if dialect == "postgresql":
                quote = conn.dialect.identifier_preparer.quote
                qualified = f"{quote(schema)}.{quote(name)}" if schema else quote(name)
                # reltuples is -1 before the first ANALYZE: then guess from the size on disk
                sql = (
                    "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples "
                    "ELSE pg_relation_size(c.oid) / 200 END FROM pg_class c "
                    "WHERE c.oid = to_regclass(:name)"
                )
                value = conn.execute(sa.text(sql), {"name": qualified}).scalar()
            elif dialect in ("mysql", "mariadb"):
                sql = (
                    "SELECT TABLE_ROWS FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :name"
                )
                value = conn.execute(sa.text(sql), {"schema": schema, "name": name}).scalar()
            elif dialect == "mssql":
                sql = (
                    "SELECT SUM(p.rows) FROM sys.partitions p "
                    "WHERE p.object_id = OBJECT_ID(:name) AND p.index_id IN (0, 1)"
                )
                value = conn.execute(sa.text(sql), {"name": f"{schema}.{name}" if schema else name}).scalar()
            else:
                return 0
    except sa.exc.SQLAlchemyError:
        return 0  # the read itself reports what is wrong, with the database's words
    return int(value or 0)


class ChildRead:
    """The parent's side: start the child, turn its messages into batches, stop it when done."""

    def __init__(self, name: str, source: SqlSource, read: SqlRead, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.where = f"table {read.table}" if read.table else "query"
        self._stopped = False
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the child's lifetime
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "openconnector.connectors.sql.process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._out: IO[bytes] = self._proc.stdout
        with contextlib.suppress(BrokenPipeError):  # a child that died at once says so on receive
            self._proc.stdin.write(pickle.dumps((name, source, read, ctx.cursor, ctx.full, ctx.pipeline), 5))
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()

    def receive(self) -> tuple[Any, ...]:
        """The next message (blocking; run it in a thread)."""
        if not self._stopped:
            header = self._out.read(_HEADER)
            if len(header) == _HEADER:
                size = int.from_bytes(header, "big")
                body = self._out.read(size)
                if len(body) == size:
                    message: tuple[Any, ...] = pickle.loads(body)
                    return message
        if self._stopped:  # the connector was closed: the same words as a read in a thread
            raise ConnectorError("the connector was closed during the read", where=self.where)
        code = self._proc.wait()
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        said = f": {lines[-1]}" if lines else ""
        raise ConnectorError(
            f"the reader process ended before the read did (exit code {code}){said}",
            where=self.where,
            retryable=True,
        )

    async def batches(self) -> AsyncGenerator[Batch, None]:
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
                    self.ctx.new_cursor = message[1]
                    self.ctx.warnings.extend(message[2])
                    return
                pending = asyncio.ensure_future(asyncio.to_thread(self.receive))  # the child runs ahead
                if kind == "warnings":
                    self.ctx.warnings.extend(message[1])
                else:
                    chunk: Chunk = message[1]
                    yield Batch(
                        chunk.records,
                        errors=chunk.errors,
                        where=f"rows {chunk.first_row}-{chunk.last_row}",
                        origins=message[2],
                        hashes=message[3],
                    )
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


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    body = pickle.dumps(message, 5)
    out.write(len(body).to_bytes(_HEADER, "big"))
    out.write(body)
    out.flush()


def serve(arguments: bytes, out: IO[bytes]) -> None:
    """The child's side: run the read the parent asked for and send what it gives."""
    from openconnector.connectors.sql.connector import SqlConnector
    from openconnector.pipelines.process import IdResolver

    name, source, read, cursor, full, pipeline = pickle.loads(arguments)
    origin_of = IdResolver(read.id)
    connector = SqlConnector(name, source)
    ctx = ReadContext(pipeline, cursor=cursor, full=full)
    stream = connector.stream(read)
    try:
        plan = connector.start(stream, read, ctx)
        sent = len(ctx.warnings)
        _send(out, ("warnings", ctx.warnings[:sent]))
        while (chunk := connector.next_chunk(stream, plan)) is not None:
            # the engine's own id and change-detection hash, computed here on the idle core
            origins = [origin_of(r, None) for r in chunk.records]
            _send(out, ("chunk", chunk, origins, list(map(content_hash, chunk.records))))
        connector.set_cursor(plan, stream, ctx)
        _send(out, ("end", ctx.new_cursor, ctx.warnings[sent:]))
    except ConnectorError as exc:
        _send(out, ("error", Exception.__str__(exc), exc.where, exc.retryable))
    finally:
        stream.close()
        connector.engine.dispose()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides, then ends us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() from a library must not corrupt the wire
    try:
        serve(sys.stdin.buffer.read(), out)
    except BrokenPipeError:  # the parent has gone (it stopped reading): nothing to tell
        pass
    except Exception as exc:
        traceback.print_exc()
        with contextlib.suppress(BrokenPipeError):
            _send(out, ("error", f"the reader process failed: {type(exc).__name__}: {exc}", None, False))


if __name__ == "__main__":
    main()
