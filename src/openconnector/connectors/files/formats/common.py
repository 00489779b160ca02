"""What every format parser yields, and the helpers they share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeAlias

from openconnector.connectors.base import RecordError

Meta: TypeAlias = dict[str, Any]
Item: TypeAlias = "tuple[dict[str, Any], Meta] | RecordError"
"""A parser yields ``(record, meta)`` for a good record and :class:`RecordError` for a bad one."""
Items: TypeAlias = Iterator[Item]


def meta(file: str, row: int, **extra: Any) -> Meta:
    """Per-record metadata; mappings see it as ``_meta`` and ``id: "@row"`` uses ``row_id``."""
    return {"file": file, "row": row, "row_id": f"{file}:{row}", **extra}


def where_of(m: Meta) -> str:
    """``orders.csv line 17`` — the place a user can find the record at."""
    if "line" in m:
        return f"{m['file']} line {m['line']}"
    if "sheet_row" in m:
        return f"{m['file']} row {m['sheet_row']}"
    return f"{m['file']} record {m['row']}"


def column_names(cells: Iterable[Any]) -> list[str]:
    """Header cells as unique, non-empty names: blank ones become ``col_N``, repeats get ``_2``."""
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(cells, start=1):
        name = "" if cell is None else str(cell).strip()
        if not name:
            name = f"col_{i}"
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        names.append(name)
    return names
