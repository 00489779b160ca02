"""The ``postgresql``, ``mysql`` and ``mssql`` source types: async face over a blocking reader.

Each blocking step (connect, plan, fetch a chunk) runs in a worker thread. While the engine
processes one batch the next chunk is already being fetched (one chunk ahead, so memory stays at
two chunks). A big read runs in a child process instead (:mod:`openconnector.connectors.child`),
where fetching and converting rows no longer shares the interpreter lock with the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from openconnector.connectors import register
from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext, SourceBase
from openconnector.connectors.child import ChildRead
from openconnector.connectors.sql import cursor as cur
from openconnector.connectors.sql.config import SqlRead, SqlSource
from openconnector.connectors.sql.convert import Converter
from openconnector.connectors.sql.engine import create_engine, secrets_of, source_url
from openconnector.connectors.sql.errors import translate
from openconnector.connectors.sql.estimate import CHILD_READ_ROWS, estimated_rows
from openconnector.connectors.sql.location import masked
from openconnector.connectors.sql.reader import Chunk, Plan, Stream, StreamClosed, plan_read
from openconnector.connectors.sql.write import write_records

if TYPE_CHECKING:
    from openconnector.connectors.sql.mycext import CRows

log = logging.getLogger("openconnector.connectors.sql")


class SqlConnector(Connector):
    """Shared implementation; the registered subclasses only fix ``type`` and the Source model."""

    Source: ClassVar[type[SourceBase]] = SqlSource
    Read: ClassVar[type[ReadBase]] = SqlRead
    modes = ("read", "write")

    def __init__(self, name: str, source: SourceBase) -> None:
        if not isinstance(source, SqlSource):
            source = self.Source.model_validate(source.model_dump(by_alias=True))
        super().__init__(name, source)
        self.sql_source: SqlSource = source  # type: ignore[assignment]
        self._engine: sa.Engine | None = None
        self._streams: set[Stream] = set()
        self._children: set[ChildRead] = set()
        self._secrets = secrets_of(self.sql_source)
        self.display = masked(source_url(self.sql_source))

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = create_engine(self.sql_source, f"openconnector:{self.name}")
        return self._engine

    def _fail(self, exc: BaseException, doing: str, where: str | None) -> ConnectorError:
        return translate(exc, doing=doing, where=where, secrets=self._secrets)

    # -- read -------------------------------------------------------------------------------------

    def _start(self, stream: Stream, read: SqlRead, ctx: ReadContext) -> Plan:
        """Connect, plan the statement against the database and open the streamed result."""
        try:
            conn = stream.connect()
        except sa_exc.DBAPIError as exc:
            raise self._fail(exc, "cannot connect", self.display) from None
        try:
            plan = plan_read(conn, self.sql_source, read, ctx.cursor, ctx.full, ctx.warnings)
        except sa_exc.DBAPIError as exc:
            raise self._fail(exc, "cannot read the table's columns", read.table or "query") from None
        try:
            stream.open(plan)
        except sa_exc.DBAPIError as exc:
            raise self._fail(exc, "the database rejected the read", plan.where) from None
        return plan

    def _next(self, stream: Stream, plan: Plan) -> Chunk | None:
        """The next chunk, or ``None`` at the end; a broken read as a ConnectorError naming the row."""
        try:
            return stream.next_chunk()
        except sa_exc.DBAPIError as exc:
            raise self._fail(exc, "the read broke off", f"{plan.where}, after row {stream.rows}") from None
        except StreamClosed as exc:
            raise ConnectorError(str(exc), where=f"{plan.where}, after row {stream.rows}") from None

    def _stream(self, read: SqlRead) -> Stream:
        converter = Converter(read.decimals or self.sql_source.decimals)
        return Stream(self.engine, converter, read.batch_size, read.id_columns, self._c_rows())

    def _c_rows(self) -> Callable[[sa.Connection], CRows] | None:
        """What opens a MySQL read on the C extension, if it can take this source (mycext.py)."""
        if self.sql_source.type != "mysql":
            return None
        from openconnector.connectors.sql import mycext

        if not mycext.usable(self.sql_source):
            return None
        return functools.partial(mycext.CRows, self.sql_source, app_name=f"openconnector:{self.name}")

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        sql_read = read if isinstance(read, SqlRead) else SqlRead.model_validate(read.model_dump())
        if await asyncio.to_thread(self._in_child, sql_read, ctx):
            where = f"table {sql_read.table}" if sql_read.table else "query"
            # the child runs this very read, in a thread of its own process
            in_child = sql_read.model_copy(update={"reader": "thread"})
            child = ChildRead(self.type, self.name, self.sql_source, in_child, ctx, where)
            self._children.add(child)
            try:
                async with contextlib.aclosing(child.batches()) as batches:
                    async for batch in batches:
                        yield batch
            finally:
                self._children.discard(child)
            return
        stream = self._stream(sql_read)
        self._streams.add(stream)
        pending: asyncio.Future[Chunk | None] | None = None
        try:
            plan = await asyncio.to_thread(self._start, stream, sql_read, ctx)
            pending = asyncio.ensure_future(asyncio.to_thread(self._next, stream, plan))
            while True:
                # shielded: cancelling the read must not abandon a fetch that is still running
                chunk = await asyncio.shield(pending)
                pending = None
                if chunk is None:
                    break
                # fetch ahead while the engine processes this batch
                pending = asyncio.ensure_future(asyncio.to_thread(self._next, stream, plan))
                yield Batch(
                    chunk.records, errors=chunk.errors, where=f"rows {chunk.first_row}-{chunk.last_row}"
                )
            self._set_cursor(plan, stream, ctx)
        finally:
            if pending is not None:  # a thread cannot be cancelled: let the fetch finish, drop it
                await asyncio.wait([pending])
                with contextlib.suppress(BaseException):
                    pending.result()
            await asyncio.to_thread(stream.close)
            self._streams.discard(stream)

    def _in_child(self, read: SqlRead, ctx: ReadContext) -> bool:
        """Whether this read runs in a child process (``read.reader``; ``auto`` decides by size)."""
        if read.reader != "auto":
            return read.reader == "process"
        if read.table is None or (read.incremental is not None and ctx.cursor is not None and not ctx.full):
            return False  # a query's size is unknown; an incremental run reads only what is new
        threshold = CHILD_READ_ROWS.get(self.engine.dialect.name)
        if threshold is None or self._c_rows() is not None:
            return False  # a driver that decodes in C: the thread is faster (estimate.py)
        estimate = estimated_rows(self.engine, self.sql_source, read.table)
        if estimate < threshold:
            return False
        hint = ""
        if self.sql_source.type == "mysql":  # the only dialect with a child threshold
            from openconnector.connectors.sql import mycext

            if not mycext.available():
                hint = "; the [mysql-c] extra would read it faster (docs/connectors/mysql.md)"
        log.info(
            "%s: reading table %s (about %d rows) in a child process%s", self.name, read.table, estimate, hint
        )
        return True

    @staticmethod
    def _set_cursor(plan: Plan, stream: Stream, ctx: ReadContext) -> None:
        if plan.cursor_column is None:
            return
        best = stream.newest if plan.mark is None else cur.newest(stream.newest, plan.mark)
        if best is None:
            best = plan.mark
        if best is None:
            return
        try:
            ctx.new_cursor = cur.encode(plan.cursor_column, best)
        except TypeError as exc:
            ctx.warnings.append(f"incremental.cursor {plan.cursor_column!r}: {exc}; the cursor is not stored")

    # -- write, check, close ----------------------------------------------------------------------

    def _write(self, target: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
        naive_utc = self.sql_source.type == "mysql" and (self.sql_source.timezone or "").upper() in (
            "UTC",
            "+00:00",
        )
        try:
            with self.engine.begin() as conn:
                return write_records(
                    conn, target, records, default_schema=self.sql_source.schema_, naive_utc=naive_utc
                )
        except sa_exc.DBAPIError as exc:
            raise self._fail(exc, "the write was rolled back", f"write to {target.get('table')}") from None

    async def write(self, target: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
        """Insert or update ``records`` by ``target["key"]`` in ``target["table"]``, all or nothing."""
        if not records:
            return []
        return await asyncio.to_thread(self._write, target, records)

    def _check(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa_exc.DBAPIError as exc:
            raise self._fail(exc, "cannot connect", self.display) from None

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    async def aclose(self) -> None:
        streams, self._streams = list(self._streams), set()
        children, self._children = list(self._children), set()
        for child in children:
            await asyncio.to_thread(child.stop)
        for stream in streams:
            await asyncio.to_thread(stream.close)
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.dispose)


class PostgresSource(SqlSource):
    type: Literal["postgresql"]


class MySQLSource(SqlSource):
    type: Literal["mysql"]


class MSSQLSource(SqlSource):
    type: Literal["mssql"]


@register
class PostgresConnector(SqlConnector):
    type = "postgresql"
    Source = PostgresSource


@register
class MySQLConnector(SqlConnector):
    type = "mysql"
    Source = MySQLSource


@register
class MSSQLConnector(SqlConnector):
    type = "mssql"
    Source = MSSQLSource
