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
