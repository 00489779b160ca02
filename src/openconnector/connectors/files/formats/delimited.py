"""CSV (and TSV): the csv module over a stream of decoded lines, so memory stays flat.

The hot path is one ``for`` over the csv reader, which takes its lines from a C-level chain of
per-chunk line lists: no Python step per line, one ``dict(zip())`` and one meta dict per row. The
raw text of a bad row (for the quarantine) is looked up afterwards in the chunks still held: the
chunk the current row started in and those after it.
"""

from __future__ import annotations

import csv
import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

from openconnector.connectors.base import RecordError
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.decode import FileFailure, Readable, TextSource
from openconnector.connectors.files.formats.common import Items, column_names


class _Lines:
    """The file's physical lines for the csv reader, with the raw text of recent rows on demand.

    ``done`` is the last line of the last row the reader finished; chunks that end before the row
    after it are dropped as new ones come in, so memory holds about one chunk.
    """

    def __init__(self, text: TextSource) -> None:
        self._text = text
        self._held: deque[list[str]] = deque()
        self._first = 1  # line number of the first line in _held
        self.done = 0

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[list[str]]:
        held = self._held
        for lines in self._text.line_chunks():
            while held and self._first + len(held[0]) <= self.done:
                self._first += len(held.popleft())
            held.append(lines)
            yield lines

    def raw(self, start: int, end: int) -> str:
        """Lines ``start`` to ``end`` (1-based, inclusive) joined, without the final line end."""
        out: list[str] = []
        first = self._first
        for lines in self._held:
            lo, hi = max(start, first), min(end, first + len(lines) - 1)
            if lo <= hi:
                out.extend(lines[lo - first : hi - first + 1])
            first += len(lines)
        return "".join(out).rstrip("\r\n")


def parse_csv(raw: Readable, read: FileRead, file: str) -> Items:
    opts = read.csv
    delimiter = opts.delimiter
    if file.lower().endswith(".tsv") and "delimiter" not in opts.model_fields_set:
        delimiter = "\t"
    lines = _Lines(TextSource(raw, read.encoding or "utf-8", file))
    reader = csv.reader(iter(lines), delimiter=delimiter, quotechar=opts.quote, strict=True)
    names = opts.columns
    fields: list[str] = names or []  # names, once known
    need_header = opts.header
    empty_as_null = opts.empty_as_null
    # rows of exactly this many cells take the fast path; -1 until the names are known
    width = len(names) if names and not need_header else -1
    row = 0
    line_end = 0
    while True:
        try:
            for cells in reader:
                start = line_end + 1
                lines.done = line_end = reader.line_num
                if len(cells) == width:
                    row += 1
                    record: dict[str, Any] = dict(zip(fields, cells))  # noqa: B905 - same length
                    if empty_as_null:
                        record = {k: (None if v == "" else v) for k, v in record.items()}
                    yield record, {"file": file, "row": row, "row_id": f"{file}:{row}", "line": start}
                    continue
                if not cells:  # a blank line
                    continue
                if need_header:
                    need_header = False
                    if names is None:
                        names = column_names(cells)
                    fields = names
                    width = len(names) or -1
                    continue
                if names is None:  # no header and no columns: name them by position
                    names = fields = [f"col_{i}" for i in range(1, len(cells) + 1)]
                    width = len(names)
                row += 1
                if len(cells) != len(names):
                    yield RecordError(
                        raw=lines.raw(start, line_end),
                        error=f"expected {len(names)} fields, found {len(cells)}",
                        where=f"{file} line {start}",
                    )
                    continue
                record = dict(zip(names, cells, strict=True))
                if empty_as_null:
                    record = {k: (None if v == "" else v) for k, v in record.items()}
                yield record, {"file": file, "row": row, "row_id": f"{file}:{row}", "line": start}
            return
        except csv.Error as exc:
            start = line_end + 1
            line_end = reader.line_num
            if "unexpected end of data" in str(exc):
                raise FileFailure(
                    f"{file}: ends inside a quoted field that starts on line {start} "
                    "(the file is truncated, or a quote is never closed)"
                ) from None
            if need_header:
                raise FileFailure(f"{file}: cannot read the header on line {start}: {exc}") from None
            raw_text = lines.raw(start, line_end)
            lines.done = line_end
            row += 1
            yield RecordError(raw=raw_text, error=f"unreadable CSV row: {exc}", where=f"{file} line {start}")
