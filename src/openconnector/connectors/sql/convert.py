"""Database values → JSON values, one row at a time, fast.

The drivers hand back Python objects (Decimal, datetime, UUID, bytes, lists, dicts, timedelta);
a record must hold only JSON types, and the same value must always give the same JSON (the engine
hashes records to skip unchanged ones). A value JSON cannot carry faithfully (NaN, infinity, a
MySQL zero date, a decimal that is not exactly a float when numbers are asked for) raises
:class:`Unconvertible`; the caller turns that row into a ``RecordError`` naming the column.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import itertools
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson

from openconnector.connectors.sql.config import Decimals

Convert = Callable[[Any], Any]


class Unconvertible(ValueError):
    """A value that has no faithful JSON form."""


class Unloadable:
    """What a driver loader returns for a value Python cannot hold (PostgreSQL ``infinity`` dates)."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind

    def __repr__(self) -> str:
        return f"Unloadable({self.text!r}, {self.kind!r})"


def _unloadable(value: Unloadable) -> Any:
    raise Unconvertible(f"{value.text!r} is not a {value.kind} JSON can carry")


def _float(value: float) -> float:
    if not math.isfinite(value):
        raise Unconvertible(f"{value!r} is not a JSON number")
    return value


def decimal_string(value: decimal.Decimal) -> str:
    if not value.is_finite():
        raise Unconvertible(f"{value} is not a JSON number")
    # format 'f' keeps plain notation: Decimal('0E-10') → '0.0000000000', not '0E-10'
    return format(value, "f")


_MAX_INT: Final = 2**64
_MIN_INT: Final = -(2**63)


def decimal_number(value: decimal.Decimal) -> int | float:
    """The JSON number equal to ``value``, or :class:`Unconvertible` if none is exact."""
    if not value.is_finite():
        raise Unconvertible(f"{value} is not a JSON number")
    if value == value.to_integral_value():
        n = int(value)
        if _MIN_INT <= n < _MAX_INT:
            return n
    else:
        f = float(value)
        if decimal.Decimal(repr(f)) == value:
            return f
    raise Unconvertible(f"{value} is not exactly a JSON number; use decimals: string")


def duration(value: dt.timedelta) -> str:
    """ISO 8601 duration (``P1DT2H30M``, ``-PT0.5S``), the form of a PostgreSQL interval."""
    total = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if total < 0 else ""
    days, rest = divmod(abs(total), 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, micros = divmod(rest, 60_000_000)
    out = f"{sign}P{days}D" if days else f"{sign}P"
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if micros:
        secs = f"{micros // 1_000_000}.{micros % 1_000_000:06d}".rstrip("0").rstrip(".")
        time += f"{secs}S"
    if time:
        out += "T" + time
    return out if out not in ("P", "-P") else "PT0S"


def clock(value: dt.timedelta) -> str:
    """``[-]HH:MM:SS[.ffffff]``: a MySQL TIME (which pymysql gives as a timedelta)."""
    total = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if total < 0 else ""
    secs, micros = divmod(abs(total), 1_000_000)
    hours, secs = divmod(secs, 3600)
    text = f"{sign}{hours:02d}:{secs // 60:02d}:{secs % 60:02d}"
    return f"{text}.{micros:06d}" if micros else text


def _bytes(value: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _iso(value: dt.date | dt.time) -> str:
    return value.isoformat()


def json_text(value: Any) -> Any:
    """A text column that holds JSON (MySQL JSON, MariaDB's JSON alias, read.json_columns)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
    elif not isinstance(value, str):
        return value  # already decoded by the driver
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise Unconvertible(f"not valid JSON ({exc})") from None


def bits(value: Any) -> Any:
    """MySQL BIT(n) comes as big-endian bytes; as a number it means what the user stored."""
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    return value


def mysql_time(value: Any) -> Any:
    return clock(value) if isinstance(value, dt.timedelta) else value


class mysql_date:  # lower case: used like the converter functions around it
    """MySQL DATE/DATETIME/TIMESTAMP: pymysql gives the raw text for a zero or invalid date."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            raise Unconvertible(f"{value!r} is not a valid {self.kind}")
        return value if value is None else value.isoformat()

    def column(self, values: Sequence[Any]) -> list[Any]:
        """A whole column: one C-level ``map(isoformat)`` when it holds only dates (and nulls)."""
        kinds = set(map(type, values))
        has_none = _NONE in kinds
        kinds.discard(_NONE)
        if len(kinds) == 1:
            kind = kinds.pop()
            if kind is dt.datetime or kind is dt.date:
                iso = kind.isoformat
                if not has_none:
                    return list(map(iso, values))
                return [None if v is None else iso(v) for v in values]
        return [self(v) for v in values]


_NONE: Final = type(None)
_PLAIN: Final = frozenset({str, int, bool, _NONE})


def _finite_floats(values: Sequence[float]) -> Sequence[float]:
    if all(map(math.isfinite, values)):
        return values
    raise Unconvertible("not finite")


def _decimal_strings(values: Sequence[decimal.Decimal]) -> list[str]:
    if all(map(decimal.Decimal.is_finite, values)):
        return list(map(format, values, itertools.repeat("f")))
    raise Unconvertible("not finite")


class Converter:
    """Converts rows to records. Built once per read; the per-value path is one dict lookup."""

    def __init__(self, decimals: Decimals = "string") -> None:
        self.decimals = decimals
        table: dict[type, Convert | None] = {
            str: None,
            int: None,
            bool: None,
            type(None): None,
            float: _float,
            decimal.Decimal: decimal_string if decimals == "string" else decimal_number,
            dt.datetime: _iso,
            dt.date: _iso,
            dt.time: _iso,
            dt.timedelta: duration,
            uuid.UUID: str,
            bytes: _bytes,
            bytearray: _bytes,
            memoryview: _bytes,
            list: self._list,
            tuple: self._list,
            dict: self._dict,
            Unloadable: _unloadable,
            ipaddress.IPv4Address: str,
            ipaddress.IPv6Address: str,
            ipaddress.IPv4Network: str,
            ipaddress.IPv6Network: str,
            ipaddress.IPv4Interface: str,
            ipaddress.IPv6Interface: str,
        }
        self._table = table

    def value(self, value: Any) -> Any:
        conv = self._table.get(type(value), self._other)
        return value if conv is None else conv(value)

    def _list(self, value: Sequence[Any]) -> list[Any]:
        return [self.value(v) for v in value]

    def _dict(self, value: dict[Any, Any]) -> dict[str, Any]:
        return {str(k): self.value(v) for k, v in value.items()}

    def _other(self, value: Any) -> Any:
        # subclasses of known types (pendulum, driver-specific) first, then the text form
        for kind, conv in self._table.items():
            if kind is not type(None) and isinstance(value, kind):
                return kind(value) if conv is None else conv(value)
        return str(value)

    def rows(
        self, names: Sequence[str], rows: Sequence[Sequence[Any]], special: Sequence[Convert | None]
    ) -> list[dict[str, Any]] | None:
        """A whole chunk of rows; see :meth:`columns`."""
        if not rows:
            return []
        return self.columns(names, list(zip(*rows, strict=True)), special)

    def columns(
        self, names: Sequence[str], columns: Sequence[Sequence[Any]], special: Sequence[Convert | None]
    ) -> list[dict[str, Any]] | None:
        """A whole chunk, converted column by column; ``None`` if some value does not convert.

        Column-wise, a column of one type is converted by one C-level ``map`` instead of a Python
        call per value, which roughly doubles the rows per second. On ``None`` the caller converts
        the chunk row by row to find which rows failed.
        """
        if len(columns) != len(names):
            raise ValueError(f"{len(names)} column names for rows of {len(columns)} values")
        if not columns or not columns[0]:
            return []
        try:
            converted = [self._column(col, sp) for col, sp in zip(columns, special, strict=True)]
        except Unconvertible:
            return None
        # each tuple holds len(names) values; map(zip, ...) skips the per-row keyword-argument call
        return list(map(dict, map(zip, itertools.repeat(names), zip(*converted, strict=True))))

    def _column(self, values: Sequence[Any], special: Convert | None) -> Sequence[Any]:
        if special is not None:
            column = getattr(special, "column", None)
            if column is not None:
                return column(values)
            return [special(v) for v in values]
        kinds = set(map(type, values))
        has_none = _NONE in kinds
        kinds -= _PLAIN
        if not kinds:
            return values
        if len(kinds) > 1:
            value = self.value
            return [value(v) for v in values]
        bulk = self._bulk(kinds.pop())
        if not has_none:
            return bulk(values)
        converted = iter(bulk([v for v in values if v is not None]))
        return [None if v is None else next(converted) for v in values]

    def _bulk(self, kind: type) -> Callable[[Sequence[Any]], Sequence[Any]]:
        if kind is float:
            return _finite_floats
        if kind is decimal.Decimal and self.decimals == "string":
            return _decimal_strings
        if kind in (dt.datetime, dt.date, dt.time):
            iso = kind.isoformat
            return lambda values: list(map(iso, values))
        conv = self._table.get(kind, self._other) or kind
        return lambda values: list(map(conv, values))

    def row(
        self, names: Sequence[str], row: Sequence[Any], special: Sequence[Convert | None]
    ) -> dict[str, Any]:
        """One record; raises :class:`ColumnError` naming the column that did not convert."""
        table = self._table
        other = self._other
        rec: dict[str, Any] = {}
        name = ""
        try:
            for name, v, sp in zip(names, row, special, strict=True):
                if sp is not None:
                    rec[name] = sp(v)
                else:
                    conv = table.get(type(v), other)
                    rec[name] = v if conv is None else conv(v)
        except Unconvertible as exc:
            raise ColumnError(name, str(exc)) from None
        return rec

    def lenient(
        self, names: Sequence[str], row: Sequence[Any], special: Sequence[Convert | None]
    ) -> dict[str, Any]:
        """The row as JSON for the quarantine: values that do not convert as their text."""
        rec: dict[str, Any] = {}
        for name, v, sp in zip(names, row, special, strict=True):
            try:
                rec[name] = sp(v) if sp is not None else self.value(v)
            except (Unconvertible, TypeError, ValueError):
                rec[name] = v.text if isinstance(v, Unloadable) else str(v)
        return rec


class ColumnError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"column {column!r}: {message}")
        self.column = column
