"""The blocking half of a read: plan the statement, stream it in chunks, convert rows.

Everything here runs in a worker thread (the DBAPI drivers block); the async connector calls one
method at a time, so a connection is never used by two threads at once. The result is streamed
(server-side cursor on PostgreSQL, unbuffered cursor on MySQL, pymssql fetches lazily), so memory
holds one chunk whatever the table size.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from openconnector.connectors.base import ConnectorError, RecordError
from openconnector.connectors.sql import cursor as cur
from openconnector.connectors.sql.config import SqlRead, SqlSource, parse_order
from openconnector.connectors.sql.convert import (
    ColumnError,
    Convert,
    Converter,
    bits,
    json_text,
    mysql_date,
    mysql_time,
)
from openconnector.connectors.sql.errors import server_message
from openconnector.connectors.sql.statements import (
    CURSOR_PARAM,
    bind_names,
    query_select,
    split_table,
    table_select,
)
from openconnector.jsonutil import dumps_str

if TYPE_CHECKING:  # the module imports PyMySQL, which a PostgreSQL read never needs
    from openconnector.connectors.sql.mycext import CRows

log = logging.getLogger("openconnector.connectors.sql")

#: pymysql FIELD_TYPE codes that need more than the per-Python-type conversion
_MYSQL_SPECIAL: dict[int, Convert] = {
    245: json_text,  # JSON (MySQL; MariaDB reports LONGTEXT, found via its CHECK constraint)
    16: bits,  # BIT
    11: mysql_time,  # TIME
    7: mysql_date("timestamp"),
    10: mysql_date("date"),
    12: mysql_date("datetime"),
    14: mysql_date("date"),  # NEWDATE
}


@dataclass
class Plan:
    """What one read executes, decided before the first row."""

    statement: sa.Executable
    params: dict[str, Any]
    where: str  # "table public.people" or "query": names the read in messages
    cursor_column: str | None
    #: raw value of the stored mark (before look-back): the new mark is never older than this
    mark: Any = None
    json_columns: set[str] = field(default_factory=set)


@dataclass
class Chunk:
    records: list[dict[str, Any]]
    errors: list[RecordError]
    first_row: int
    last_row: int


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _resolve(name: str, known: dict[str, Any], case_insensitive: bool, what: str, where: str) -> str:
    """The column as the database spells it, or a ConnectorError that names it."""
    if name in known:
        return name
    if case_insensitive:
        for k in known:
            if k.lower() == name.lower():
                return k
    raise ConnectorError(
        f"{what} column {name!r} does not exist in {where}{_suggest(name, list(known))} "
        f"(columns: {', '.join(known)})",
        where=where,
    )


def _python_type(col_type: Any) -> type | None:
    try:
        return col_type.python_type
    except NotImplementedError:
        return None


def _mariadb_json_columns(conn: sa.Connection, schema: str | None, name: str) -> set[str]:
    """MariaDB's JSON is LONGTEXT + CHECK (json_valid(col)); the constraint gives it away."""
    rows = conn.execute(
        sa.text(
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :name "
            "AND LEVEL = 'Column'"
        ),
        {"schema": schema, "name": name},
    )
    return {r[0] for r in rows if str(r[1]).replace(" ", "").lower() == f"json_valid(`{str(r[0]).lower()}`)"}


def plan_read(
    conn: sa.Connection, source: SqlSource, read: SqlRead, stored: Any, full: bool, warnings: list[str]
) -> Plan:
    """Check names against the database and build the statement (raises ConnectorError)."""
    dialect = conn.dialect
    inc = read.incremental
    cursor_column = inc.cursor if inc else None
    mark: Any = None
    if inc is not None and not full:
        mark, warning = cur.decode(stored, inc.cursor)
        if warning:
            warnings.append(warning)
    elif inc is not None and full and read.query is not None and CURSOR_PARAM in bind_names(read.query):
        mark = inc.start  # a query that places :cursor itself still needs a value on a full read
    order = [parse_order(o) for o in read.order_by or []]
    params = dict(read.params)

    def check_params(sql: str, label: str, cursor_allowed: bool) -> None:
        used = bind_names(sql) - ({CURSOR_PARAM} if cursor_allowed else set())
        missing = sorted(used - set(params))
        if missing:
            raise ConnectorError(
                f"{label} uses :{', :'.join(missing)} but read.params has no value for it", where=label
            )

    if read.table is not None:
        schema, name = split_table(read.table, source.schema_)
        where = f"table {schema + '.' if schema else ''}{name}"
        try:
            reflected = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns(name, schema=schema)}
        except sa_exc.NoSuchTableError:
            raise ConnectorError(f"table or view {read.table!r} does not exist", where=where) from None
        if not reflected:  # some dialects return [] instead of raising for a missing table
            raise ConnectorError(f"table or view {read.table!r} does not exist", where=where)
        ci = dialect.name in ("mysql", "mariadb", "mssql")
        columns = [
            _resolve(c, reflected, ci, "read.columns", where) for c in (read.columns or list(reflected))
        ]
        for id_col in read.id_columns:
            resolved = _resolve(id_col, reflected, ci, "read.id", where)
            if resolved not in columns:
                columns.append(resolved)  # the engine needs the id in every record
        if cursor_column is not None:
            cursor_column = _resolve(cursor_column, reflected, ci, "incremental.cursor", where)
            if cursor_column not in columns:
                columns.append(cursor_column)
        order = [(_resolve(c, reflected, ci, "read.order_by", where), d) for c, d in order]
        if read.where:
            check_params(read.where, "read.where", cursor_allowed=False)
        json_columns: set[str] = set()
        if dialect.name in ("mysql", "mariadb"):  # psycopg decodes json/jsonb itself; pymysql gives text
            json_columns = {c for c, t in reflected.items() if isinstance(t, sa.JSON)}
            if getattr(dialect, "is_mariadb", False):
                json_columns |= _mariadb_json_columns(conn, schema, name)
        json_columns |= {_resolve(c, reflected, ci, "read.json_columns", where) for c in read.json_columns}
        cursor_type = reflected[cursor_column] if cursor_column else None
        if mark is not None:
            mark = cur.coerce(mark, _python_type(cursor_type))
        bound = (
            cur.step_back(mark, inc.lookback if inc else None, cursor_column or "")
            if mark is not None
            else None
        )
        stmt: sa.Executable = table_select(
            schema=schema,
            name=name,
            columns=columns,
            where=read.where,
            params=params,
            cursor_column=cursor_column,
            cursor_value=bound,
            cursor_type=cursor_type,
            order=order,
        )
        return Plan(stmt, params, where, cursor_column, mark, json_columns)

    assert read.query is not None
    own_cursor = CURSOR_PARAM in bind_names(read.query)
    check_params(read.query, "read.query", cursor_allowed=own_cursor)
    if own_cursor:
        if cursor_column is None:
            raise ConnectorError(
                "read.query uses :cursor but read.incremental.cursor is not set", where="query"
            )
        if mark is None:
            raise ConnectorError(
                "read.query places :cursor itself, so a first or full read needs a value for it: "
                "set read.incremental.start (e.g. 1970-01-01 or 0)",
                where="query",
            )
    bound = (
        cur.step_back(mark, inc.lookback if inc else None, cursor_column or "") if mark is not None else None
    )
    if bound is not None:
        params[CURSOR_PARAM] = bound
    stmt = query_select(
        query=read.query,
        params=params,
        dialect=dialect,
        cursor_column=cursor_column,
        filter_cursor=bound is not None and not own_cursor,
        order=order,
    )
    return Plan(stmt, params, "query", cursor_column, mark, set(read.json_columns))


def _max_of_main_kind(values: Sequence[Any]) -> Any:
    numbers = ("int", "decimal", "float")
    kinds = Counter("number" if (k := cur.kind_of(v)) in numbers else k for v in values)
    kinds.pop(None, None)
    if not kinds:
        return None
    main = kinds.most_common(1)[0][0]
    top = None
    for v in values:
        k = cur.kind_of(v)
        if ("number" if k in numbers else k) == main:
            top = cur.newest(top, v)
    return top


def _origin(raw: dict[str, Any], ids: Sequence[str]) -> str | None:
    # the same rule as the engine's id resolver: strings as they are, other values as JSON
    parts = []
    for c in ids:
        v = raw.get(c)
        if v is None or v == "":
            return None
        parts.append(v if isinstance(v, str) else dumps_str(v).strip('"'))
    return ":".join(parts)


class StreamClosed(Exception):
    pass


class Stream:
    """One streamed SELECT. ``open`` → ``next_chunk`` until ``None`` → ``close``.

    ``c_rows``, when given, opens the SELECT on MySQL Connector/Python's C extension instead of
    the planning connection (:mod:`.mycext`); planning stays on SQLAlchemy either way.
    """

    def __init__(
        self,
        engine: sa.Engine,
        converter: Converter,
        batch_size: int,
        id_columns: Sequence[str],
        c_rows: Callable[[sa.Connection], CRows] | None = None,
    ) -> None:
        self.engine = engine
        self.c_rows = c_rows
        self.crows: CRows | None = None
        self.converter = converter
        self.batch_size = batch_size
        self.id_columns = list(id_columns)
        self.conn: sa.Connection | None = None
        self.result: sa.CursorResult[Any] | None = None
        self.names: list[str] = []
        self.special: list[Convert | None] = []
        self.cursor_index: int | None = None
        self.newest: Any = None  # raw max of the cursor column over the rows read
        self.rows = 0
        self.done = False
        # a fetch running in one worker thread and a close from another (the engine giving up
        # mid-read) must not use the connection at the same time
        self._lock = threading.Lock()

    def connect(self) -> sa.Connection:
        self.conn = self.engine.connect()
        return self.conn

    def open(self, plan: Plan) -> None:
        assert self.conn is not None
        type_codes: Sequence[Any] = ()
        if self.c_rows is not None:
            try:
                self.crows = self.c_rows(self.conn)
            except Exception as exc:
                # PyMySQL connected with the same settings; the C client may not (MySQL 8's
                # caching_sha2_password without TLS needs a key exchange it does not ask for), or
                # a release of it may not take what it is given: the read is not lost for that
                log.warning(
                    "MySQL Connector/Python could not connect (%s); reading through PyMySQL",
                    server_message(exc),
                )
        if self.crows is not None:
            from openconnector.connectors.sql.mycext import final_sql

            as_text = self.converter.decimals == "string"
            self.names = self.crows.execute(
                final_sql(plan.statement, plan.params, self.conn),
                # the cursor column's values are compared (the new mark): they stay Decimals
                decimal_text=lambda name: as_text and name != plan.cursor_column,
            )
            type_codes = self.crows.type_codes
            # planning is done: its connection goes back to the pool for the length of the read
            self.conn.close()
            self.conn = None
        else:
            conn = self.conn.execution_options(yield_per=self.batch_size)
            self.result = result = conn.execute(plan.statement, plan.params)
            self.names = list(result.keys())
            if self.engine.dialect.name in ("mysql", "mariadb"):
                type_codes = [d[1] for d in result.cursor.description or []]
        where = plan.where
        known = {n: None for n in self.names}
        for id_col in self.id_columns:
            _resolve(id_col, known, False, "read.id", f"the result of the {where}")
        if plan.cursor_column is not None:
            _resolve(plan.cursor_column, known, False, "incremental.cursor", f"the result of the {where}")
            self.cursor_index = self.names.index(plan.cursor_column)
        self.special = [json_text if n in plan.json_columns else None for n in self.names]
        for i, code in enumerate(type_codes):
            if self.special[i] is None:
                self.special[i] = _MYSQL_SPECIAL.get(code)
        self.newest = None

    def next_chunk(self) -> Chunk | None:
        with self._lock:
            if self.crows is not None:
                return self._convert(self.crows.fetch(self.batch_size))
            if self.result is None:  # closed meanwhile: the read did NOT reach its end
                raise StreamClosed("the connector was closed during the read")
            rows = self.result.fetchmany(self.batch_size)
            return self._convert(list(zip(*rows, strict=True)) if rows else None)

    def _convert(self, columns: Sequence[Sequence[Any]] | None) -> Chunk | None:
        if not columns or not columns[0]:
            self.done = True
            return None
        count = len(columns[0])
        first = self.rows + 1
        self.rows += count
        records: list[dict[str, Any]] = []
        errors: list[RecordError] = []
        conv = self.converter
        names, special = self.names, self.special
        fast = conv.columns(names, columns, special)
        if fast is not None:
            records = fast
        for n, row in enumerate(zip(*columns, strict=True) if fast is None else (), start=first):
            try:
                records.append(conv.row(names, row, special))
            except ColumnError as exc:
                raw = conv.lenient(names, row, special)
                errors.append(
                    RecordError(
                        raw=raw, error=str(exc), where=f"row {n}", origin_id=_origin(raw, self.id_columns)
                    )
                )
        if self.cursor_index is not None:
            values = [v for v in columns[self.cursor_index] if v is not None]
            try:
                top = max(values, default=None)
            except TypeError:  # mixed kinds (a zero date among dates): the column's main kind wins
                top = _max_of_main_kind(values)
            self.newest = cur.newest(self.newest, top)
        return Chunk(records, errors, first, self.rows)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, result, crows = self.conn, self.result, self.crows
        self.conn = self.result = self.crows = None
        if crows is not None:
            try:
                crows.close(finished=self.done)
            except Exception:  # the server may be gone already
                log.debug("closing a database read", exc_info=True)
        if conn is None:
            return
        try:
            if crows is None and not self.done:
                # an unfinished unbuffered result (pymysql) would be read to its end on close, which
                # for a big table takes as long as the read; dropping the connection ends it at once
                # and never returns a half-read connection to the pool
                unbuffered = getattr(getattr(result, "cursor", None), "_result", None)
                if unbuffered is not None and getattr(unbuffered, "unbuffered_active", False):
                    unbuffered.unbuffered_active = False
                conn.invalidate()
            elif result is not None:
                result.close()
        except Exception:  # the server may be gone already; nothing left to release
            log.debug("closing a database read", exc_info=True)
        finally:
            try:
                conn.close()
            except Exception:
                log.debug("closing a database connection", exc_info=True)
