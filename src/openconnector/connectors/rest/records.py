"""Finding the records in a decoded response body.

The rules (documented in docs/connectors/rest.md):

* ``read.records`` is a dot-path into the body; absent or empty means the body itself;
* a path that does not exist is an error naming the path and what the body has instead — never
  zero records, which would look like a source that emptied;
* ``null`` at the path is an empty page;
* a single object at the path is one record (an XML element that occurs once, a "get one" API) —
  except the whole body of a paginated read, which is almost certainly an envelope whose record
  list ``read.records`` should point at;
* an item that is not an object is kept as a :class:`RecordError` (quarantined, not dropped).
"""

from __future__ import annotations

from typing import Any

from openconnector.connectors.base import ConnectorError, RecordError
from openconnector.jsonutil import MISSING, get_path, split_path


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _keys(value: Any) -> str:
    if isinstance(value, dict):
        keys = list(value)[:12]
        more = ", …" if len(value) > 12 else ""
        return f"keys: {', '.join(map(str, keys))}{more}" if keys else "no keys"
    return _kind(value)


def _missing_message(body: Any, path: str) -> str:
    """Says how far the path got: ``'data.items': 'data' has keys: rows, total``."""
    segments = split_path(path)
    cur = body
    for depth, seg in enumerate(segments):
        nxt = get_path(cur, [seg])
        if nxt is MISSING:
            where = "the response" if depth == 0 else repr(".".join(segments[:depth]))
            return f"records path {path!r} is not in the response: {where} has {_keys(cur)}"
        cur = nxt
    return f"records path {path!r} is not in the response"  # pragma: no cover - get_path disagreed


def extract_records(
    body: Any, records_path: str | None, *, paginated: bool, shown: str, where: str
) -> tuple[list[dict[str, Any]], list[RecordError]]:
    """The page's records and the items that are not records, by the module's rules."""
    if records_path:
        value = get_path(body, records_path)
        if value is MISSING:
            raise ConnectorError(f"{shown}: {_missing_message(body, records_path)}", where=where)
    else:
        value = body
        if paginated and isinstance(body, dict):
            raise ConnectorError(
                f"{shown}: the response is an object, not a list of records; set read.records to the "
                f"path of the record list (the response has {_keys(body)})",
                where=where,
            )
    if value is None:
        return [], []
    if isinstance(value, dict):
        return [value], []
    if not isinstance(value, list):
        named = f"records path {records_path!r}" if records_path else "the response"
        raise ConnectorError(f"{shown}: {named} holds {_kind(value)}, not a list of records", where=where)
    if set(map(type, value)) == {dict}:  # the common case, checked at C speed (~4x the generator)
        return value, []
    records: list[dict[str, Any]] = []
    errors: list[RecordError] = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            records.append(item)
        else:
            errors.append(
                RecordError(
                    raw=item,
                    error=f"the record is {_kind(item)}, not an object",
                    where=f"{where} item {index}",
                )
            )
    return records, errors


__all__ = ["extract_records"]
