"""Reading a GraphQL response: records under ``data``, and what its ``errors`` array means.

* ``errors`` and no ``data`` (a syntax error, a failed root field): the page fails, with the
  server's messages;
* ``errors`` next to ``data`` (a field that failed for some records): the records are delivered,
  each error is logged with its path — and the record it belongs to, when the path runs through
  the record list — and the read is incomplete, so nothing is deleted on the strength of it;
* a record path that ends in ``edges`` (a Relay connection) yields each edge's ``node``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openconnector.connectors.base import ConnectorError, RecordError
from openconnector.connectors.rest.records import extract_records
from openconnector.jsonutil import MISSING, get_path, split_path

SHOWN_ERRORS = 5  # errors quoted in one message; the rest are counted


def _location(error: dict[str, Any]) -> str:
    locations = error.get("locations")
    if isinstance(locations, list) and locations and isinstance(locations[0], dict):
        first = locations[0]
        return f" (line {first.get('line')}, column {first.get('column')})"
    return ""


def _path(error: dict[str, Any]) -> list[Any] | None:
    path = error.get("path")
    return path if isinstance(path, list) and path else None


def describe(error: Any) -> str:
    """One error as ``message (line 1, column 9) at people.edges.3.node.email``."""
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message") or "no message")
    path = _path(error)
    at = f" at {'.'.join(map(str, path))}" if path else ""
    return f"{message}{_location(error)}{at}"


def summary(errors: list[Any]) -> str:
    shown = "; ".join(describe(e) for e in errors[:SHOWN_ERRORS])
    more = len(errors) - SHOWN_ERRORS
    return f"{shown}; and {more} more" if more > 0 else shown


def error_list(body: Any) -> list[Any]:
    """The response's ``errors`` (a malformed one is kept as a single error)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return []
    return errors if isinstance(errors, list) else [errors]


def records_of(
    data: Any, records_path: str, *, paginated: bool, shown: str, where: str
) -> tuple[list[dict[str, Any]], list[RecordError]]:
    """The records at ``records_path`` under ``data``; Relay edges give their nodes."""
    records, errors = extract_records(data, records_path, paginated=paginated, shown=shown, where=where)
    if split_path(records_path)[-1] != "edges":
        return records, errors
    nodes: list[dict[str, Any]] = []
    for index, edge in enumerate(records):
        node = edge.get("node")
        if isinstance(node, dict):
            nodes.append(node)
        else:
            errors.append(
                RecordError(raw=edge, error="the edge has no node object", where=f"{where} item {index}")
            )
    return nodes, errors


@dataclass
class FieldError:
    """An error that came with data: where it points, for the log."""

    text: str
    record: int | None = None  # index in the page's record list, when the path runs through it
    origin_id: Any = None


def field_errors(
    errors: list[Any], data: Any, records_path: str, id_path: str | list[str]
) -> list[FieldError]:
    """Each error with the record it belongs to, where its path says so."""
    prefix = split_path(records_path)
    edges = prefix[-1] == "edges"
    found: list[FieldError] = []
    for error in errors:
        path = _path(error) if isinstance(error, dict) else None
        item: int | None = None
        if path and len(path) > len(prefix) and [str(p) for p in path[: len(prefix)]] == prefix:
            index = path[len(prefix)]
            item = index if isinstance(index, int) else None
        origin: Any = None
        if item is not None:
            record = get_path(data, [*prefix, str(item), *(["node"] if edges else [])])
            if isinstance(record, dict):
                ids = [id_path] if isinstance(id_path, str) else id_path
                values = [get_path(record, p) for p in ids]
                if all(v is not MISSING for v in values):
                    origin = values[0] if len(values) == 1 else values
        found.append(FieldError(describe(error), item, origin))
    return found


def fail_on_errors(
    errors: list[Any], *, shown: str, where: str, redact: Callable[[str], str]
) -> ConnectorError:
    """The page's failure, quoting the server (a server may echo a credential: ``redact`` masks it)."""
    text = redact(summary(errors))
    return ConnectorError(f"{shown}: the server answered with GraphQL errors: {text}", where=where)


__all__ = ["FieldError", "describe", "error_list", "fail_on_errors", "field_errors", "records_of", "summary"]
