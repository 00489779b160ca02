"""Real databases for the SQL connector tests: connection settings and helpers.

PostgreSQL (127.0.0.1:5432, db ``test``, trust) and MariaDB (127.0.0.1:3306, root, db ``test``) run
on this machine. MSSQL runs only where ``OPENCONNECTOR_TEST_MSSQL_URL`` names a server, e.g.
``mssql://sa:Secret-123@127.0.0.1:1433/test``; without it the MSSQL cases are skipped.
Every test makes its own uniquely named tables and drops them afterwards.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from openconnector.connectors import Batch, ReadContext, RecordError, get_connector
from openconnector.connectors.sql import SqlConnector

URLS: dict[str, str | None] = {
    "postgresql": os.environ.get(
        "OPENCONNECTOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("OPENCONNECTOR_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "mssql": os.environ.get("OPENCONNECTOR_TEST_MSSQL_URL"),
}
_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mssql": "mssql+pymssql"}

_engines: dict[str, sa.Engine] = {}


def admin_engine(kind: str) -> sa.Engine:
    url = URLS[kind]
    if url is None:
        pytest.skip(f"{kind}: set OPENCONNECTOR_TEST_MSSQL_URL to run against a real server")
    if kind not in _engines:
        _engines[kind] = sa.create_engine(make_url(url).set(drivername=_DRIVERS[kind]))
    return _engines[kind]


@dataclass
class Db:
    """One database under test: an admin engine for setup and a factory for connectors."""

    kind: str
    engine: sa.Engine
    tables: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        """The connector's location: the plain URL without driver (password moves into auth)."""
        url = make_url(URLS[self.kind] or "")
        return url.set(drivername=self.kind).render_as_string(hide_password=False)

    def name(self, prefix: str = "t") -> str:
        n = f"oc_{prefix}_{uuid.uuid4().hex[:10]}"
        self.tables.append(n)
        return n

    def create(self, *columns: sa.Column[Any], prefix: str = "t") -> sa.Table:
        table = sa.Table(self.name(prefix), sa.MetaData(), *columns)
        table.create(self.engine)
        return table

    def id_table(self, n: int) -> str:
        """A new table of one integer column ``id`` holding 1..n; its name."""
        column = sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)
        table = self.create(column)
        self.insert(table, [{"id": i} for i in range(1, n + 1)])
        return str(table.name)

    def insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(table.insert(), rows)

    def exec(self, *statements: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            for s in statements:
                conn.execute(sa.text(s), params)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    def connector(self, name: str | None = None, **source: Any) -> SqlConnector:
        cls = get_connector(self.kind)
        cfg = {"type": self.kind, "location": self.location, **source}
        conn = cls(name or f"test-{uuid.uuid4().hex[:8]}", cls.Source.model_validate(cfg))
        assert isinstance(conn, SqlConnector)
        return conn

    def drop_all(self) -> None:
        insp_names = set(sa.inspect(self.engine).get_table_names())
        with self.engine.begin() as conn:
            for t in reversed(self.tables):
                if t in insp_names:
                    conn.execute(sa.text(f"DROP TABLE {self.engine.dialect.identifier_preparer.quote(t)}"))


@dataclass
class ReadResult:
    batches: list[Batch]
    ctx: ReadContext

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for b in self.batches for r in b.records]

    @property
    def errors(self) -> list[RecordError]:
        return [e for b in self.batches for e in b.errors]


async def read_all(
    conn: SqlConnector, read: dict[str, Any], *, cursor: Any = None, full: bool = False
) -> ReadResult:
    """Drive the connector the way the engine does and collect what it yields."""
    ctx = ReadContext(pipeline="test", cursor=cursor, full=full)
    batches = []
    async with conn:
        async for batch in conn.read(conn.Read.model_validate(read), ctx):
            batches.append(batch)
    return ReadResult(batches, ctx)
