"""JSON (one document, records at a path, parsed incrementally by ijson) and NDJSON (one record
per line, parsed by orjson)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import ijson
import orjson

from openconnector.connectors.base import RecordError
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.decode import FileFailure, Readable, TextSource, Utf8Reader
from openconnector.connectors.files.formats.common import Items, meta
from openconnector.jsonutil import loads_source, split_path

Event = tuple[str, str, Any]


class _PathWatch:
    """Passes ijson's events through and notes what sits at the records path: a list (whose items
    ``ijson.items`` picks out at C speed), one object (built here, yielded as one record), or
    nothing — the difference between "no records" and "wrong path"."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.kind: str | None = None
        self.single: dict[str, Any] | None = None

    def watch(self, events: Iterator[Event]) -> Iterator[Event]:
        prefix = self.prefix
        for ev in events:
            if ev[0] == prefix and self.kind is None:
                self.kind = ev[1]
                if ev[1] == "start_map":
                    self._build(ev, events)
                    continue
            yield ev

    def _build(self, first: Event, events: Iterator[Event]) -> None:
        builder = ijson.ObjectBuilder()
        builder.event(first[1], first[2])
        for p, e, v in events:
            builder.event(e, v)
            if p == self.prefix and e == "end_map":
                break
        self.single = builder.value


_NOT_JSON_NUMBERS = re.compile(r"(?<![A-Za-z_\"])(-?Infinity|NaN)(?![A-Za-z_\"])")


def _problem(exc: Exception, records: int) -> str:
    """yajl's message on one line: what, the text where it stopped, how many records came before,
    and what to do when that text holds ``NaN``/``Infinity`` (Python's ``json.dumps`` writes them)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    what = lines[0].rstrip(".") if lines else type(exc).__name__
    near = lines[1] if len(lines) > 1 and not lines[1].startswith("(right here)") else ""
    out = f"{what}{f' near {near!r}' if near else ''}, after {records} record{'' if records == 1 else 's'}"
    bad = _NOT_JSON_NUMBERS.search(near)
    if bad:
        out += (
            f"; {bad.group(1)} is not a JSON value: the writer must send null instead "
            "(Python: json.dumps(..., allow_nan=False) refuses it)"
        )
    return out


def parse_json(raw: Readable, read: FileRead, file: str) -> Items:
    text = TextSource(raw, read.encoding or "utf-8", file)
    records = read.records or ""
    prefix = ".".join(split_path(records)) if records else ""
    watch = _PathWatch(prefix)
    row = 0
    try:
        events = ijson.parse(Utf8Reader(text), use_float=True)
        for item in ijson.items(watch.watch(events), f"{prefix}.item" if prefix else "item"):
            row += 1
            if isinstance(item, dict):
                yield item, meta(file, row)
            else:
                yield RecordError(
                    raw=item,
                    error=f"record is a {type(item).__name__}, not an object",
                    where=f"{file} record {row}",
                )
    except ijson.JSONError as exc:
        raise FileFailure(
            f"{file}: invalid or truncated JSON within the first {text.offset} bytes ({_problem(exc, row)})"
        ) from None
    where = f"records path {records!r}" if records else "the document"
    if watch.kind is None:
        raise FileFailure(f"{file}: {where} not found in the file; check read.records")
    if watch.kind == "start_map":
        assert watch.single is not None
        yield watch.single, meta(file, 1)
    elif watch.kind != "start_array":
        raise FileFailure(f"{file}: {where} holds a single {watch.kind} value, not records")


def parse_ndjson(raw: Readable, read: FileRead, file: str) -> Items:
    text = TextSource(raw, read.encoding or "utf-8", file)
    row = 0
    for line_no, line in enumerate(text.lines(), start=1):
        s = line.strip()
        if not s:
            continue
        row += 1
        try:
            value = loads_source(s)
        except orjson.JSONDecodeError as exc:
            yield RecordError(raw=s, error=f"invalid JSON: {exc}", where=f"{file} line {line_no}")
            continue
        if not isinstance(value, dict):
            yield RecordError(
                raw=value,
                error=f"line holds a {type(value).__name__}, not an object",
                where=f"{file} line {line_no}",
            )
            continue
        yield value, meta(file, row, line=line_no)
