"""MySQL/MariaDB reads streamed by MySQL Connector/Python's C extension, decoded as PyMySQL would.

PyMySQL parses every row in Python: on a big table that is most of a read's CPU (1,000,000 rows of
8 columns, converted to records: 8.1 s through PyMySQL, 3.1 s this way). The C extension hands
each row over as raw bytes; they are decoded column by column with the decoders of the read's own
PyMySQL connection, exactly as PyMySQL decodes them, so every value (and what gets quarantined) is
the same. Planning, reflection and writes stay on PyMySQL; only the streamed SELECT moves, and its
SQL is the very text PyMySQL would have sent (its ``mogrify``), in the same character set,
collation and time zone.

The extension is optional (``pip install "openconnector[mysql-c]"``). Reads stay on PyMySQL when
it is missing or cannot load, when the source needs what only the PyMySQL path sets up (TLS, a URL
query, ``connect_args``), or when ``OPENCONNECTOR_MYSQL_C=0``.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from pymysql import converters
from pymysql.connections import TEXT_TYPES
from pymysql.constants import FIELD_TYPE
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from openconnector.connectors.auth import MTLSAuth
from openconnector.connectors.sql.config import SqlSource
from openconnector.connectors.sql.engine import connect_args, source_url

log = logging.getLogger("openconnector.connectors.sql")

#: set to 0 to keep every MySQL read on PyMySQL
ENV = "OPENCONNECTOR_MYSQL_C"

_BINARY = 63  # the charset number of binary strings (BLOB, VARBINARY)
_DECIMALS = (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL)

Decode = tuple[str | None, Callable[[Any], Any] | None]


class _Driver:
    """The extension's connection class and its base error."""

    def __init__(self, connection: Any, error: type[Exception]) -> None:
        self.connection = connection
        self.error = error


@functools.cache
def _driver() -> _Driver | None:
    try:
        from mysql.connector import Error
        from mysql.connector.connection_cext import CMySQLConnection
    except ImportError as exc:  # not installed, or its C library does not load here (OpenSSL)
        log.debug("MySQL Connector/Python's C extension is not available: %s", exc)
        return None
    return _Driver(CMySQLConnection, Error)


def available() -> bool:
    """Whether the C extension is installed and loads."""
    return _driver() is not None


def usable(source: SqlSource) -> bool:
    """Whether reads of ``source`` can go through the C extension."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if source.type != "mysql" or source.connect_args or isinstance(source.auth, MTLSAuth):
        return False
    if source.ssl not in (None, "disable") or source.ssl_ca or source_url(source).query:
        return False
    return available()


def _wrapped(exc: Exception, driver: _Driver) -> sa_exc.DBAPIError:
    """The driver's error as SQLAlchemy wraps PyMySQL's, so messages and retry rules are shared."""
    wrapped = sa_exc.DBAPIError.instance(None, None, exc, driver.error)
    assert isinstance(wrapped, sa_exc.DBAPIError)
    return wrapped


def final_sql(statement: sa.Executable, params: Mapping[str, Any], conn: sa.Connection) -> str:
    """The SQL text PyMySQL would send for ``statement`` on ``conn``, parameters escaped in it."""
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=conn.dialect)
    assert isinstance(compiled, SQLCompiler)
    state = compiled.construct_expanded_state(dict(params))
    processors = state.processors
    values = {k: processors[k](v) if k in processors else v for k, v in state.parameters.items()}
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor: Any = dbapi.cursor()
    try:
        return str(cursor.mogrify(state.statement, values))
    finally:
        cursor.close()


def decoders(description: Sequence[Sequence[Any]], dbapi: Any) -> list[Decode]:
    """(encoding, converter) per column, as PyMySQL's result reader chooses them."""
    out: list[Decode] = []
    for column in description:
        field_type, charset = column[1], column[8]
        encoding: str | None
        if not dbapi.use_unicode:
            encoding = None
        elif field_type == FIELD_TYPE.JSON:
            encoding = dbapi.encoding
        elif field_type in TEXT_TYPES:
            encoding = None if charset == _BINARY else dbapi.encoding
        else:
            encoding = "ascii"
        converter = dbapi.decoders.get(field_type)
        out.append((encoding, None if converter is converters.through else converter))
    return out


def _decode_one(value: bytes | None, encoding: str | None, converter: Callable[[Any], Any] | None) -> Any:
    if value is None:
        return None
    data: Any = value if encoding is None else value.decode(encoding)
    return data if converter is None else converter(data)


def decode_columns(rows: Sequence[Sequence[bytes | None]], plan: Sequence[Decode]) -> list[Sequence[Any]]:
    """Raw rows → decoded columns; a column without NULLs in one C-level ``map`` per step."""
    columns: list[Sequence[Any]] = []
    for values, (encoding, converter) in zip(zip(*rows, strict=True), plan, strict=True):
        if None in values:
            columns.append([_decode_one(v, encoding, converter) for v in values])
            continue
        column: Sequence[Any] = values
        if encoding is not None:
            column = list(map(bytes.decode, column, itertools.repeat(encoding)))
        if converter is not None:
            column = list(map(converter, column))
        columns.append(column)
    return columns


class CRows:
    """One streamed SELECT on a connection of its own; raises SQLAlchemy's ``DBAPIError`` types."""

    def __init__(self, source: SqlSource, planning: sa.Connection, app_name: str) -> None:
        dbapi = planning.connection.dbapi_connection
        assert dbapi is not None
        self._dbapi: Any = dbapi
        driver = _driver()
        assert driver is not None, "checked by usable()"
        self._driver = driver
        url = source_url(source)
        given = connect_args(source, url, app_name)
        try:
            self._cnx = driver.connection(
                host=url.host or "localhost",
                port=url.port or 3306,
                user=url.username or "",
                password=url.password or "",
                database=url.database,
                charset=dbapi.charset,
                connection_timeout=given["connect_timeout"],
                conn_attrs={"program_name": given["program_name"]},
                ssl_disabled=True,  # as PyMySQL, which only speaks TLS when told to
            )
        except driver.error as exc:
            raise _wrapped(exc, driver) from None
        self._cursor: Any = None
        # the session as PyMySQL's: collation (ORDER BY on text), time zone (TIMESTAMP values)
        try:
            collation, zone = planning.exec_driver_sql("SELECT @@collation_connection, @@time_zone").one()
            self._run(f"SET NAMES {dbapi.charset} COLLATE {collation}")
            self._run("SET time_zone = %s", (zone,))
        except BaseException:
            self._cnx.close()
            raise

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        try:
            with self._cnx.cursor() as cursor:
                cursor.execute(sql, params or None)
        except self._driver.error as exc:
            raise _wrapped(exc, self._driver) from None

    def execute(self, sql: str, decimal_text: Callable[[str], bool] = lambda name: False) -> list[str]:
        """Start the SELECT; returns its column names.

        A DECIMAL column for which ``decimal_text(name)`` holds keeps the server's text: it is
        already what the converter makes of a ``Decimal`` for ``decimals: string`` (plain
        notation, the column's scale), and parsing it only to print it again costs ~0.4 µs a value.
        """
        try:
            self._cursor = self._cnx.cursor(raw=True)
            self._cursor.execute(sql)
        except self._driver.error as exc:
            raise _wrapped(exc, self._driver) from None
        description = self._cursor.description or []
        names = [str(d[0]) for d in description]
        self._plan = decoders(description, self._dbapi)
        self._dbapi = None  # the planning connection goes back to its pool now
        for i, column in enumerate(description):
            if column[1] in _DECIMALS and decimal_text(names[i]):
                self._plan[i] = ("ascii", None)
        self.type_codes = [int(d[1]) for d in description]
        return names

    def fetch(self, size: int) -> list[Sequence[Any]] | None:
        """The next up to ``size`` rows as decoded columns; ``None`` at the end."""
        try:
            rows = self._cursor.fetchmany(size)
        except self._driver.error as exc:
            raise _wrapped(exc, self._driver) from None
        if not rows:
            return None
        return decode_columns(rows, self._plan)

    def close(self, *, finished: bool) -> None:
        """Release the connection; an unfinished result is dropped with the socket, not drained
        (closing through the public API reads it to its end, as long as the read itself)."""
        cnx = self._cnx
        if not finished:
            low = getattr(cnx, "_cmysql", None)
            if low is not None:
                low.close()
                return
        cnx.close()
