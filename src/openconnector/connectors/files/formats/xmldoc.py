"""XML: lxml's iterparse over the decoded stream; each record element is turned into a dict and
freed, so memory stays flat.

Parsing runs in libxml2's recover mode so one broken element does not lose the rest of the file:
libxml2 logs each error with its line, and an error inside a record's lines quarantines that record
(with the element as recovered as the raw text). Errors that mean the document as a whole is broken
— it ends early, or is not XML at all — fail the file.

Recovery is a heuristic: on some errors libxml2 stops early or re-nests the elements that follow,
which would silently lose records. So when there were errors, the parse is checked: every start tag
in the text must have reached us as an element, and every element named like a record must have
been a record. If not, the file fails as a whole (nothing is lost: it waits in the failed folder).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from typing import Any

from lxml import etree

from openconnector.connectors.base import RecordError
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.decode import (
    FileFailure,
    PeekReader,
    Readable,
    TextSource,
    Utf8Reader,
    sniff_xml_encoding,
)
from openconnector.connectors.files.formats.common import Items, meta
from openconnector.jsonutil import split_path

#: libxml2 errors that break the document as a whole rather than one element
_FATAL = {"ERR_TAG_NOT_FINISHED", "ERR_DOCUMENT_EMPTY", "ERR_DOCUMENT_END", "ERR_DOCUMENT_START"}


_START_TAG = re.compile(rb"<[A-Za-z_\x80-\xff]")


class _TagCounter:
    """Counts start tags in the raw text (``<`` + a name character) as a cross-check of recovery."""

    def __init__(self, inner: Utf8Reader) -> None:
        self._inner = inner
        self.count = 0
        self._last = b""

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        if data:
            self.count += len(_START_TAG.findall(data))
            if self._last == b"<" and _START_TAG.match(b"<" + data[:1]):
                self.count += 1
            self._last = data[-1:]
        return data


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def element_value(el: Any) -> Any:
    """``<a x="1"><b>2</b><b>3</b>t</a>`` → ``{"@x": "1", "b": ["2", "3"], "#text": "t"}``; a leaf
    without attributes is its text. Repeated children become a list."""
    attrib = el.attrib
    if not len(el) and not attrib:
        return el.text
    out: dict[str, Any] = {f"@{_local(k)}": v for k, v in attrib.items()}
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):  # entity references left unresolved
            continue
        name = _local(tag)
        value = element_value(child)
        if name in out:
            prev = out[name]
            if isinstance(prev, list):
                prev.append(value)
            else:
                out[name] = [prev, value]
        else:
            out[name] = value
    text = el.text
    if text is not None and text.strip():
        out["#text"] = text
    return out


def _matches(stack: list[str], path: list[str]) -> bool:
    return all(p == "*" or p == s for p, s in zip(path, stack, strict=True))


def parse_xml(raw: Readable, read: FileRead, file: str) -> Items:
    peek = PeekReader(raw)
    encoding = read.encoding or sniff_xml_encoding(peek.peek(1024), file)
    text = TextSource(peek, encoding, file)
    path = split_path(read.records) if read.records else None
    depth = len(path) if path else 2
    tags = _TagCounter(Utf8Reader(text))
    parser = etree.iterparse(
        tags,
        events=("start", "end"),
        encoding="utf-8",
        recover=True,
        resolve_entities=False,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
    )
    stack: list[str] = []
    parent_seen = path is None or len(path) == 1
    root = ""
    errors: list[tuple[int, str, str]] = []  # (line, type, message) not yet given to a record
    seen_errors = 0
    first_error: tuple[int, str, str] | None = None
    held: deque[tuple[int, Any, int]] = deque()  # (first line, element, row): waiting for its errors
    row = 0
    starts: Counter[str] = Counter()  # elements parsed, by local name
    matched: Counter[str] = Counter()  # of those, elements taken as records

    def new_errors() -> None:
        nonlocal seen_errors, first_error
        log = parser.error_log
        if len(log) > seen_errors:
            for e in list(log)[seen_errors:]:
                errors.append((e.line, e.type_name, e.message))
            seen_errors = len(log)
            first_error = first_error or errors[0]

    def release(until_line: int | None) -> Items:
        """Yield held records whose lines all lie before ``until_line`` (``None``: all of them)."""
        while held and (until_line is None or len(held) > 1):
            line, el, n = held.popleft()
            end = held[0][0] if held else (until_line if until_line is not None else 1 << 62)
            if end == line and any(e[0] == line for e in errors):
                # The next record starts on this record's line (XML written without line breaks):
                # libxml2 gives lines, not columns, so the error cannot be tied to either of them.
                first = next(e for e in errors if e[0] == line)
                raise FileFailure(
                    f"{file}: XML error on line {line} ({first[2]}), a line that holds more than one "
                    "record, so it cannot be tied to one of them; fix the file"
                )
            mine = [e for e in errors if line <= e[0] < end]
            if mine:
                errors[:] = [e for e in errors if not line <= e[0] < end]
                msg = "; ".join(f"line {ln}: {m}" for ln, _, m in mine)
                yield RecordError(
                    raw=etree.tostring(el, encoding="unicode", with_tail=False),
                    error=f"XML element does not parse: {msg}",
                    where=f"{file} line {line}",
                )
            else:
                value = element_value(el)
                record = value if isinstance(value, dict) else {"#text": value}
                yield record, meta(file, n, line=line)
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]

    try:
        for event, el in parser:
            if event == "start":
                name = _local(el.tag)
                starts[name] += 1
                stack.append(name)
                if len(stack) == 1:
                    root = stack[0]
                if not parent_seen and path is not None and len(stack) == depth - 1:
                    parent_seen = _matches(stack, path[:-1])
                continue
            if len(stack) == depth and (path is None or _matches(stack, path)):
                row += 1
                matched[stack[-1]] += 1
                held.append((el.sourceline or 0, el, row))
                new_errors()
                if any(e[0] < held[0][0] for e in errors):
                    first = min(errors)
                    raise FileFailure(f"{file}: XML error outside the records, line {first[0]}: {first[2]}")
                yield from release(el.sourceline)
            stack.pop()
    except etree.XMLSyntaxError as exc:
        raise FileFailure(f"{file}: not readable as XML: {exc}") from None
    new_errors()
    fatal = [e for e in errors if e[1] in _FATAL]
    if fatal:
        raise FileFailure(f"{file}: broken XML document (truncated?) at line {fatal[0][0]}: {fatal[0][2]}")
    if first_error is not None:
        lost = tags.count - sum(starts.values())
        moved = {n: starts[n] - c for n, c in matched.items() if starts[n] != c}
        if lost or moved:
            raise FileFailure(
                f"{file}: XML errors (first at line {first_error[0]}: {first_error[2]}) could not be "
                "recovered without "
                f"losing elements ({lost} start tag(s) not parsed, {sum(moved.values())} record element(s) "
                "out of place); fix the file"
            )
    if not parent_seen:
        raise FileFailure(
            f"{file}: records path {read.records!r} not found (the root element is <{root}>); "
            "check read.records"
        )
    yield from release(None)
    if errors and row == 0:
        raise FileFailure(f"{file}: XML error at line {errors[0][0]}: {errors[0][2]}")
