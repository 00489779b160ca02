"""SQL built with SQLAlchemy: every name is quoted by the dialect, every value is a bind parameter.

Only two pieces of SQL come from config as text, because they are SQL by nature: ``read.query``
and ``read.where``. They are trusted config (like the rest of the YAML); values still only enter
them through ``:name`` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import TextClause

CURSOR_PARAM = "cursor"
WRAP_ALIAS = "oc_src"


def split_table(table: str, default_schema: str | None) -> tuple[str | None, str]:
    """``"sales.orders"`` → ``("sales", "orders")``; MSSQL may give ``db.schema.table``."""
    schema, dot, name = table.strip().rpartition(".")
    return (schema if dot else default_schema) or None, name


def bind_names(sql: str) -> set[str]:
    """The ``:name`` parameters a piece of SQL uses (``::type`` casts are not parameters)."""
    return set(sa.text(sql).compile().params)


def _text(sql: str, params: Mapping[str, Any]) -> TextClause:
    """``sql`` as a text clause; list values expand (``status IN :statuses``)."""
    clause = sa.text(sql)
    used = bind_names(sql)
    expanding: list[Any] = [
        sa.bindparam(n, expanding=True)
        for n, v in params.items()
        if n in used and isinstance(v, (list, tuple))
    ]
    return clause.bindparams(*expanding) if expanding else clause


def table_select(
    *,
    schema: str | None,
    name: str,
    columns: Sequence[str],
    where: str | None,
    params: Mapping[str, Any],
    cursor_column: str | None,
    cursor_value: Any,
    cursor_type: sa.types.TypeEngine[Any] | None,
    order: Sequence[tuple[str, bool]],
) -> sa.Select[Any]:
    needed = list(
        dict.fromkeys([*columns, *([cursor_column] if cursor_column else []), *(c for c, _ in order)])
    )
    table = sa.table(name, *(sa.column(c) for c in needed), schema=schema)
    stmt = sa.select(*(table.c[c] for c in columns))
    if where:
        stmt = stmt.where(_text(where, params))
    if cursor_column is not None and cursor_value is not None:
        stmt = stmt.where(
            table.c[cursor_column] >= sa.bindparam(CURSOR_PARAM, cursor_value, type_=cursor_type)
        )
    if order:
        stmt = stmt.order_by(*(table.c[c].desc() if desc else table.c[c] for c, desc in order))
    return stmt


def query_select(
    *,
    query: str,
    params: Mapping[str, Any],
    dialect: Dialect,
    cursor_column: str | None,
    filter_cursor: bool,
    order: Sequence[tuple[str, bool]],
) -> TextClause:
    """The user's query; wrapped as a derived table when the connector adds a cursor filter or order.

    ``filter_cursor`` is false when the query places ``:cursor`` itself (it then owns the filter).
    """
    sql = query.strip().rstrip(";").rstrip()
    if (filter_cursor and cursor_column) or order:
        quote = dialect.identifier_preparer.quote
        sql = f"SELECT * FROM ({sql}) AS {WRAP_ALIAS}"
        if filter_cursor and cursor_column:
            sql += f" WHERE {WRAP_ALIAS}.{quote(cursor_column)} >= :{CURSOR_PARAM}"
        if order:
            sql += " ORDER BY " + ", ".join(
                f"{WRAP_ALIAS}.{quote(c)}{' DESC' if desc else ''}" for c, desc in order
            )
    return _text(sql, params)


def upsert(dialect: Dialect, table: sa.Table, columns: Sequence[str], key: Sequence[str]) -> sa.Executable:
    """Insert-or-update by ``key`` for rows holding ``columns``, executed with a list of dicts.

    PostgreSQL ``ON CONFLICT (key) DO UPDATE`` (needs a unique index on exactly the key), MySQL
    ``ON DUPLICATE KEY UPDATE`` (fires on any unique key), MSSQL ``MERGE ... WITH (HOLDLOCK)``.
    """
    others = [c for c in columns if c not in key]
    if dialect.name == "postgresql":
        pg = postgresql.insert(table)
        index = [table.c[k] for k in key]
        if not others:
            return pg.on_conflict_do_nothing(index_elements=index)
        return pg.on_conflict_do_update(index_elements=index, set_={c: pg.excluded[c] for c in others})
    if dialect.name in ("mysql", "mariadb"):
        my = mysql.insert(table)
        return my.on_duplicate_key_update({c: my.inserted[c] for c in (others or key[:1])})
    if dialect.name == "mssql":
        return mssql_merge(dialect, table, columns, key)
    raise ValueError(f"no upsert for dialect {dialect.name!r}")


def merge_param(index: int) -> str:
    return f"p{index}"


def mssql_merge(dialect: Dialect, table: sa.Table, columns: Sequence[str], key: Sequence[str]) -> TextClause:
    """MERGE for one row per execution; parameters are ``p0..pn`` in ``columns`` order."""
    quote = dialect.identifier_preparer.quote
    target = dialect.identifier_preparer.format_table(table)
    source = ", ".join(f":{merge_param(i)} AS {quote(c)}" for i, c in enumerate(columns))
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
    others = [c for c in columns if c not in key]
    sql = f"MERGE INTO {target} WITH (HOLDLOCK) AS t USING (SELECT {source}) AS s ON {on}"
    if others:
        sql += " WHEN MATCHED THEN UPDATE SET " + ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in others)
    cols = ", ".join(quote(c) for c in columns)
    sql += f" WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({', '.join(f's.{quote(c)}' for c in columns)});"
    binds = [sa.bindparam(merge_param(i), type_=table.c[c].type) for i, c in enumerate(columns)]
    return sa.text(sql).bindparams(*binds)
