"""The SQL the connector sends, compiled for each dialect (the only MSSQL check possible here)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.mssql import pymssql
from sqlalchemy.dialects.mysql import pymysql
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.engine import Dialect

from openconnector.connectors.sql.statements import (
    bind_names,
    query_select,
    split_table,
    table_select,
    upsert,
)

# the dialects of the drivers the connector uses
MSSQL = pymssql.dialect()  # compiles named (:p0); pymssql gets pyformat at execution
PG = psycopg.dialect()
MY = pymysql.dialect()


def sql(stmt: sa.Executable, dialect: Dialect, columns: list[str] | None = None) -> str:
    compiled = stmt.compile(dialect=dialect, column_keys=columns)  # type: ignore[attr-defined]
    return " ".join(str(compiled).split())


def test_split_table() -> None:
    assert split_table("orders", None) == (None, "orders")
    assert split_table("orders", "sales") == ("sales", "orders")
    assert split_table("erp.dbo.orders", None) == ("erp.dbo", "orders")


def test_table_select_quotes_every_name() -> None:
    stmt = table_select(
        schema="sales",
        name="Order Lines",
        columns=["id", "select", 'we"ird'],
        where="status = :status",
        params={"status": "open"},
        cursor_column="updated_at",
        cursor_value=dt.datetime(2024, 1, 1),
        cursor_type=sa.DateTime(),
        order=[("updated_at", False), ("id", True)],
    )
    assert sql(stmt, MSSQL) == (
        'SELECT sales.[Order Lines].id, sales.[Order Lines].[select], sales.[Order Lines].[we"ird] '
        "FROM sales.[Order Lines] WHERE status = :status AND sales.[Order Lines].updated_at >= :cursor "
        "ORDER BY sales.[Order Lines].updated_at, sales.[Order Lines].id DESC"
    )
    pg = sql(stmt, PG)
    assert 'FROM sales."Order Lines"' in pg and '"we""ird"' in pg and '"select"' in pg
    assert '`we"ird`' in sql(stmt, MY)


def test_query_wrapped_for_cursor_and_order() -> None:
    q = "SELECT id, changed FROM dbo.t WHERE kind = :kind;  "
    stmt = query_select(
        query=q,
        params={"kind": "a"},
        dialect=MSSQL,
        cursor_column="changed",
        filter_cursor=True,
        order=[("id", True)],
    )
    assert str(stmt) == (
        "SELECT * FROM (SELECT id, changed FROM dbo.t WHERE kind = :kind) AS oc_src "
        "WHERE oc_src.changed >= :cursor ORDER BY oc_src.id DESC"
    )
    # a query that places :cursor itself is sent as written
    own = "SELECT id FROM t WHERE changed >= :cursor"
    stmt = query_select(
        query=own, params={}, dialect=PG, cursor_column="changed", filter_cursor=False, order=[]
    )
    assert str(stmt) == own


def test_list_parameters_expand() -> None:
    stmt = query_select(
        query="SELECT id FROM t WHERE id IN :ids",
        params={"ids": [1, 2, 3]},
        dialect=PG,
        cursor_column=None,
        filter_cursor=False,
        order=[],
    )
    compiled = stmt.bindparams(ids=[1, 2, 3]).compile(dialect=PG, compile_kwargs={"render_postcompile": True})
    assert "IN (%(ids_1)s, %(ids_2)s, %(ids_3)s)" in str(compiled)


def test_bind_names_skip_casts() -> None:
    assert bind_names("SELECT x::int, :a, :cursor FROM t WHERE y = :b") == {"a", "b", "cursor"}


def _table() -> sa.Table:
    return sa.Table(
        "people",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50)),
        sa.Column("order", sa.Integer),
        schema="crm",
    )


def test_upsert_postgresql() -> None:
    out = sql(upsert(PG, _table(), ["id", "name", "order"], ["id"]), PG)
    assert out == (
        'INSERT INTO crm.people (id, name, "order") '
        "VALUES (%(id)s::INTEGER, %(name)s::VARCHAR, %(order)s::INTEGER) "
        'ON CONFLICT (id) DO UPDATE SET name = excluded.name, "order" = excluded."order"'
    )
    assert sql(upsert(PG, _table(), ["id"], ["id"]), PG).endswith("ON CONFLICT (id) DO NOTHING")


def test_upsert_mysql() -> None:
    out = sql(upsert(MY, _table(), ["id", "name"], ["id"]), MY, ["id", "name"])
    assert (
        out == "INSERT INTO crm.people (id, name) VALUES (%s, %s) ON DUPLICATE KEY UPDATE name = VALUES(name)"
    )
    keys_only = sql(upsert(MY, _table(), ["id"], ["id"]), MY, ["id"])
    assert keys_only.endswith("ON DUPLICATE KEY UPDATE id = VALUES(id)")


def test_upsert_mssql_merge() -> None:
    stmt = upsert(MSSQL, _table(), ["id", "name", "order"], ["id"])
    assert sql(stmt, MSSQL) == (
        "MERGE INTO crm.people WITH (HOLDLOCK) AS t "
        "USING (SELECT :p0 AS id, :p1 AS name, :p2 AS [order]) AS s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET t.name = s.name, t.[order] = s.[order] "
        "WHEN NOT MATCHED THEN INSERT (id, name, [order]) VALUES (s.id, s.name, s.[order]);"
    )
    keys_only = sql(upsert(MSSQL, _table(), ["id"], ["id"]), MSSQL)
    assert "WHEN MATCHED" not in keys_only and "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id);" in keys_only
