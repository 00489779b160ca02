"""Connector memory rows (``connector_memory``): a pipeline's connector remembers one value per key.

Read whole at the start of a run; written as changes inside the transaction of the batch they
belong to, so what a connector remembers and what the register holds never disagree. Values are
JSON text on every backend (never JSONB), so any JSON value comes back as it went in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from openconnector import jsonutil
from openconnector.registers.bulk import param_mark
from openconnector.timeutil import now_iso


def load_memory(engine: Engine, pipeline: str) -> dict[str, Any]:
    """Every key ``pipeline``'s connector remembers, with its value."""
    with engine.connect() as conn:
        p = param_mark(conn)
        rows = conn.exec_driver_sql(
            f"SELECT key, value FROM connector_memory WHERE pipeline = {p}", (pipeline,)
        )
        return {key: jsonutil.loads(value) for key, value in rows}


def write_memory(
    conn: Connection, pipeline: str, changed: Mapping[str, Any], removed: Collection[str]
) -> None:
    """Upsert ``changed`` and delete ``removed`` keys, in ``conn``'s transaction."""
    p = param_mark(conn)
    if changed:
        at = now_iso()
        conn.exec_driver_sql(
            f"INSERT INTO connector_memory (pipeline, key, value, updated_at) VALUES ({p}, {p}, {p}, {p}) "
            "ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            [(pipeline, key, jsonutil.dumps_str(value), at) for key, value in changed.items()],
        )
    if removed:
        conn.exec_driver_sql(
            f"DELETE FROM connector_memory WHERE pipeline = {p} AND key = {p}",
            [(pipeline, key) for key in removed],
        )
