"""``read.types``: turn text cells into numbers and booleans while reading, so a cell that is not
what the file promised quarantines its row with the file and line instead of surfacing later as a
schema error on a half-mapped object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openconnector.connectors.files.config import CastName
from openconnector.jsonutil import MISSING, get_path, set_path, split_path

_TRUE = {"true", "1", "yes", "y", "ja", "j", "on", "t"}
_FALSE = {"false", "0", "no", "n", "nee", "off", "f"}


class CastError(ValueError):
    pass


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _to_int(v: Any) -> int | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise ValueError
    s = str(v).strip()
    try:
        return int(s)
    except ValueError:
        f = float(s)
        if f.is_integer():
            return int(f)
        raise


def _to_float(v: Any) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, str) and not v.strip():
        return None
    return float(v)  # float() accepts surrounding whitespace


def _to_number(v: Any) -> int | float | None:
    try:
        return _to_int(v)
    except ValueError:
        return _to_float(v)


def _to_bool(v: Any) -> bool | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError


def _to_string(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():  # spreadsheet ids: 12345.0 → "12345"
        return str(int(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


CASTS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "float": _to_float,
    "number": _to_number,
    "bool": _to_bool,
    "string": _to_string,
}


def compile_casts(types: dict[str, CastName]) -> Callable[[dict[str, Any]], None] | None:
    """One callable that converts a record's typed fields in place; ``None`` if there are none."""
    if not types:
        return None
    plan = [(split_path(path), path, kind, CASTS[kind]) for path, kind in types.items()]
    if all(len(parts) == 1 for parts, *_ in plan):
        flat = [(parts[0], kind, fn) for parts, _, kind, fn in plan]

        def apply_flat(record: dict[str, Any]) -> None:  # the CSV/XLSX case: plain column names
            done = []
            for key, kind, fn in flat:
                if key in record:
                    value = record[key]
                    try:
                        done.append((key, fn(value)))
                    except (ValueError, TypeError, OverflowError):
                        raise CastError(f"{key}: cannot read {value!r} as {kind}") from None
            for key, converted in done:
                record[key] = converted

        return apply_flat

    def apply(record: dict[str, Any]) -> None:
        # convert everything first, then write: a failing row keeps its raw values for quarantine
        done = []
        for parts, path, kind, fn in plan:
            value = get_path(record, parts)
            if value is MISSING:
                continue
            try:
                done.append((parts, fn(value)))
            except (ValueError, TypeError, OverflowError):
                raise CastError(f"{path}: cannot read {value!r} as {kind}") from None
        for parts, converted in done:
            set_path(record, parts, converted)

    return apply


#: C-level conversions that give exactly what the cast gives when they succeed on a ``str``
_FAST: dict[str, Callable[[Any], Any] | None] = {"int": int, "float": float, "number": int, "bool": None}


def compile_chunk_casts(
    types: dict[str, CastName],
) -> Callable[[list[dict[str, Any]]], bool] | None:
    """Casts for a whole chunk of flat records (CSV rows), a column at a time.

    The returned callable converts the typed columns of every record in place and returns ``True``;
    if some record lacks a column or some value does not convert it changes nothing and returns
    ``False`` (the caller then casts record by record, quarantining the rows that fail). A column of
    text cells goes through ``int``/``float`` at C speed; the result is the same as the per-record
    cast's wherever that succeeds (``int(" 7 ")`` is 7 either way; ``""`` fails here and becomes
    ``None`` on the per-value path).
    """
    if not types or any(len(split_path(path)) != 1 for path in types):
        return None
    plan = [(split_path(path)[0], kind, CASTS[kind], _FAST.get(kind)) for path, kind in types.items()]

    def cast_chunk(records: list[dict[str, Any]]) -> bool:
        done: list[tuple[str, list[Any]]] = []
        for key, kind, fn, fast in plan:
            try:
                column = [r[key] for r in records]
            except KeyError:
                return False
            all_text = set(map(type, column)) == {str}
            if kind == "string" and all_text:
                continue  # text stays text
            converted: list[Any] | None = None
            if fast is not None and all_text:
                try:
                    converted = list(map(fast, column))
                except (ValueError, TypeError, OverflowError):
                    converted = None
            if converted is None:
                try:
                    converted = list(map(fn, column))
                except (ValueError, TypeError, OverflowError):
                    return False
            done.append((key, converted))
        for key, values in done:
            for record, value in zip(records, values, strict=True):
                record[key] = value
        return True

    return cast_chunk
