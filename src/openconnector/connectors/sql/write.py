"""``write()``: upsert register records into a table by key, in one transaction.

Records come from a register, so they hold JSON values: timestamps and decimals as strings, bytes
as base64. Each value is turned back into the column's Python type before binding, so the database
receives a timestamp and not a string it has to guess about (and bytea gets bytes, not base64 text).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.sql.statements import merge_param, split_table, upsert
from openconnector.jsonutil import dumps_str


def _python_type(col_type: Any) -> type | None:
    try:
        return col_type.python_type
    except NotImplementedError:
        return None


def _to_column(value: Any, col: sa.Column[Any], naive_utc: bool) -> Any:
    if value is None:
        return None
    kind = _python_type(col.type)
    if isinstance(value, str):
        if kind is dt.datetime:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if naive_utc and parsed.tzinfo is not None:  # MySQL DATETIME has no zone: store UTC
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind is dt.time:
            return dt.time.fromisoformat(value)
        if kind is decimal.Decimal:
            return decimal.Decimal(value)
        if kind is float:
            return float(value)
        if kind is bytes:
            return base64.b64decode(value, validate=True)
        if kind is uuid.UUID:
            return uuid.UUID(value)
        return value
    if isinstance(value, (dict, list)) and kind is not list and not isinstance(col.type, sa.JSON):
        return dumps_str(value)  # JSON into a text column (MariaDB's JSON is LONGTEXT)
    return value


def parse_target(target: dict[str, Any], default_schema: str | None) -> tuple[str | None, str, list[str]]:
    table = target.get("table")
    key = target.get("key")
    keys = [key] if isinstance(key, str) else list(key or [])
    if not isinstance(table, str) or not table or not keys or not all(isinstance(k, str) for k in keys):
        raise ConnectorError(
            'write target needs {"table": "<name>", "key": ["<column>", ...]}', where="write"
        )
    schema, name = split_table(table, default_schema)
    return schema, name, keys


def write_records(
    conn: sa.Connection,
    target: dict[str, Any],
    records: Sequence[dict[str, Any]],
    *,
    default_schema: str | None,
    naive_utc: bool,
) -> list[dict[str, Any]]:
    """Upsert ``records`` (caller holds the transaction); returns each record's key, in order."""
    schema, name, keys = parse_target(target, default_schema)
    where = f"table {schema + '.' if schema else ''}{name}"
    try:
        table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
    except sa_exc.NoSuchTableError:
        raise ConnectorError(f"table {name!r} does not exist", where=where) from None
    ci = conn.dialect.name in ("mysql", "mariadb", "mssql")
    by_lower = {c.name.lower(): c.name for c in table.columns} if ci else {}

    def column(name_: str, index: int) -> str:
        if name_ in table.c:
            return name_
        if name_.lower() in by_lower:
            return by_lower[name_.lower()]
        raise ConnectorError(f"record {index}: column {name_!r} does not exist in {where}", where=where)

    key_cols = [column(k, 0) for k in keys]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for i, rec in enumerate(records, start=1):
        row: dict[str, Any] = {}
        for k, v in rec.items():
            col = column(k, i)
            try:
                row[col] = _to_column(v, table.c[col], naive_utc)
            except (ValueError, TypeError, decimal.InvalidOperation, binascii.Error) as exc:
                raise ConnectorError(
                    f"record {i}: column {col!r}: {v!r} does not fit: {exc}", where=where
                ) from None
        missing = [k for k in key_cols if row.get(k) is None]
        if missing:
            raise ConnectorError(f"record {i}: key column(s) {', '.join(missing)} missing", where=where)
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for cols, rows in groups.items():
        stmt = upsert(conn.dialect, table, list(cols), key_cols)
        if conn.dialect.name == "mssql":
            rows = [{merge_param(i): r[c] for i, c in enumerate(cols)} for r in rows]
        conn.execute(stmt, rows)
    return [{k: rec.get(k, rec.get(kc)) for k, kc in zip(keys, key_cols, strict=True)} for rec in records]
