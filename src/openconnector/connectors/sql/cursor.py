"""The incremental high-water mark: how it is stored, read back, stepped back and advanced.

Strategy (docs/connectors/postgresql.md, "Incremental reads"): each run is ONE streamed query
``WHERE cursor_column >= stored_mark - lookback``, and the new mark is the largest cursor value the
run saw. Rows sharing the mark are read again next run and the engine's hash check counts them
"unchanged" — so no row sharing a value at a batch or run boundary is ever skipped, and a run
always ends (one query, no paging loop). The cost is re-reading the rows that share the mark.

The mark is stored as ``{"column", "type", "value"}`` so that it binds back with its real type
(a timestamp, not a string the database has to guess about) and a changed cursor column is noticed.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from typing import Any

from openconnector.connectors.base import ConnectorError

_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "bool"),  # before int: a bool is an int, but never a sensible cursor
    (dt.datetime, "datetime"),  # before date: a datetime is a date
    (dt.date, "date"),
    (int, "int"),
    (decimal.Decimal, "decimal"),
    (float, "float"),
    (str, "str"),
    (bytes, "bytes"),  # MSSQL rowversion
)


def kind_of(value: Any) -> str | None:
    for cls, name in _TYPES:
        if isinstance(value, cls):
            return None if name == "bool" else name
    return None


def encode(column: str, value: Any) -> dict[str, Any]:
    """JSON form of a raw cursor value (as the driver gave it)."""
    kind = kind_of(value)
    json: Any
    if kind in ("datetime", "date"):
        json = value.isoformat()
    elif kind == "decimal":
        json = format(value, "f")
    elif kind == "bytes":
        json = base64.b64encode(value).decode("ascii")
    elif kind is None:
        raise TypeError(f"cannot keep {type(value).__name__} as a cursor")
    else:
        json = value
    return {"column": column, "type": kind, "value": json}


def decode(stored: Any, column: str) -> tuple[Any, str | None]:
    """The raw value of a stored mark, and a warning when it cannot be used (then ``None``).

    A plain value (``read.incremental.start``, or a mark stored by another version) is returned
    as it is; :func:`coerce` gives it the column's type where that is known.
    """
    if not (isinstance(stored, dict) and {"type", "value"} <= stored.keys()):
        return stored, None
    if stored.get("column") not in (None, column):
        return None, (
            f"the stored cursor is for column {stored.get('column')!r}, not {column!r}; reading everything"
        )
    kind, value = stored["type"], stored["value"]
    try:
        if kind == "datetime":
            return dt.datetime.fromisoformat(value), None
        if kind == "date":
            return dt.date.fromisoformat(value), None
        if kind == "decimal":
            return decimal.Decimal(value), None
        if kind == "bytes":
            return base64.b64decode(value), None
        if kind in ("int", "float", "str"):
            return value, None
    except (ValueError, TypeError, decimal.InvalidOperation):
        pass
    return None, f"the stored cursor {stored!r} cannot be read; reading everything"


def coerce(value: Any, python_type: type | None) -> Any:
    """A plain cursor (from ``incremental.start``) in the column's type, when it is a string."""
    if not isinstance(value, str) or python_type is None:
        return value
    try:
        if python_type is dt.datetime:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if python_type is dt.date:
            return dt.date.fromisoformat(value)
        if python_type is int:
            return int(value)
        if python_type is decimal.Decimal:
            return decimal.Decimal(value)
        if python_type is float:
            return float(value)
    except (ValueError, decimal.InvalidOperation):
        raise ConnectorError(
            f"incremental cursor {value!r} is not a {python_type.__name__}", where="read.incremental"
        ) from None
    return value


def step_back(value: Any, lookback: float | None, column: str) -> Any:
    """``value - lookback``: seconds for timestamps, days (rounded up) for dates, units for numbers."""
    if not lookback:
        return value
    if isinstance(value, dt.datetime):
        return value - dt.timedelta(seconds=lookback)
    if isinstance(value, dt.date):
        return value - dt.timedelta(days=math.ceil(lookback / 86_400))
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return value - math.ceil(lookback)
    elif isinstance(value, decimal.Decimal):
        return value - decimal.Decimal(str(lookback))
    elif isinstance(value, float):
        return value - lookback
    raise ConnectorError(
        f"incremental.lookback needs a timestamp, date or number cursor; column {column!r} "
        f"holds {type(value).__name__}",
        where="read.incremental",
    )


def newest(current: Any, value: Any) -> Any:
    """The larger of two raw cursor values; values of another kind (a bad date) are ignored."""
    if value is None:
        return current
    kind = kind_of(value)
    if kind is None:
        return current
    if current is None:
        return value
    if kind != kind_of(current) and not (
        kind in ("int", "decimal", "float") and kind_of(current) in ("int", "decimal", "float")
    ):
        return current
    try:
        return value if value > current else current
    except TypeError:  # naive vs aware datetimes: keep what we have
        return current
