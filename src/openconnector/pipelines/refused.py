"""Records the store refuses: found by halving the batch, set aside one by one, the run goes on.

A batch is written in one transaction, so one record the database will not take (PostgreSQL
stores no NUL character, U+0000, in text or JSONB; a value out of a column's range) fails the
whole batch. Stopping the run there would stop every later run at the same record: the pipeline
would never get past it. Instead the batch is written again in halves, down to the single records
that fail; each of those is quarantined at stage ``write`` with the database's message and counted
``failed``, and everything else lands. A batch with k such records costs about 2·k·log2(batch)
extra transactions. Errors of the environment (connection lost, disk full, lock timeouts) are not
the record's fault and still stop the run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc as sa_exc

from openconnector.connectors.base import Batch

NUL_NOTE = "NUL characters (U+0000) in this record are kept as the text \\u0000: the store cannot hold them"


def refused(exc: BaseException) -> bool:
    """Whether a failed write says "this data", not "this database": worth isolating the record."""
    if any(cls.__name__ == "DataError" for cls in type(exc).__mro__):
        return True  # SQLAlchemy's, or a driver's own PEP 249 one raised before SQLAlchemy wraps it
    if isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError):
        return isinstance(exc.orig, (ValueError, TypeError))  # a value the driver could not bind
    return isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, sa_exc.SQLAlchemyError)


def store_message(exc: BaseException) -> str:
    """The database's own words, without the statement and its parameters (other records' data)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return f"{type(orig).__name__}: {' '.join(lines[:2])}"[:500]


def halves(batch: Batch) -> tuple[Batch, Batch]:
    """Two batches with the records (and reader errors) of ``batch``, in order; no ack, no nack."""
    items = [("error", e, None) for e in batch.errors] + [
        ("record", r, batch.meta[i] if batch.meta is not None else None) for i, r in enumerate(batch.records)
    ]
    cut = len(items) // 2
    return _batch(batch, items[:cut]), _batch(batch, items[cut:])


def _batch(parent: Batch, items: list[tuple[str, Any, Any]]) -> Batch:
    records = [r for kind, r, _ in items if kind == "record"]
    meta = [m for kind, _, m in items if kind == "record"] if parent.meta is not None else None
    errors = [e for kind, e, _ in items if kind == "error"]
    return Batch(records=records, meta=meta, errors=errors, where=parent.where)


def size(batch: Batch) -> int:
    return len(batch.records) + len(batch.errors)


def without_nul(value: Any) -> Any:
    """``value`` with every NUL character in its strings (keys included) written as ``\\u0000``."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nul(v) for v in value]
    return value


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False
