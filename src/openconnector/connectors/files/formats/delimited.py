"""CSV (and TSV): the csv module over a stream of decoded lines, so memory stays flat."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from openconnector.connectors.base import RecordError
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.decode import FileFailure, Readable, TextSource
from openconnector.connectors.files.formats.common import Items, column_names


def parse_csv(raw: Readable, read: FileRead, file: str) -> Items:
    opts = read.csv
    delimiter = opts.delimiter
    if file.lower().endswith(".tsv") and "delimiter" not in opts.model_fields_set:
        delimiter = "\t"
    text = TextSource(raw, read.encoding or "utf-8", file)
    taken: list[str] = []  # the physical lines of the row being parsed: a bad row's raw text

    def lines() -> Iterator[str]:
        for line in text.lines():
            taken.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter, quotechar=opts.quote, strict=True)
    names = opts.columns
    need_header = opts.header
    empty_as_null = opts.empty_as_null
    row = 0
    line_end = 0
    while True:
        start = line_end + 1
        taken.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line_end = reader.line_num
            if "unexpected end of data" in str(exc):
                raise FileFailure(
                    f"{file}: ends inside a quoted field that starts on line {start} "
                    "(the file is truncated, or a quote is never closed)"
                ) from None
            if need_header:
                raise FileFailure(f"{file}: cannot read the header on line {start}: {exc}") from None
            row += 1
            yield RecordError(
                raw="".join(taken).rstrip("\r\n"),
                error=f"unreadable CSV row: {exc}",
                where=f"{file} line {start}",
            )
            continue
        line_end = reader.line_num
        if not cells:  # a blank line
            continue
        if need_header:
            need_header = False
            if names is None:
                names = column_names(cells)
            continue
        if names is None:  # no header and no columns: name them by position
            names = [f"col_{i}" for i in range(1, len(cells) + 1)]
        row += 1
        if len(cells) != len(names):
            yield RecordError(
                raw="".join(taken).rstrip("\r\n"),
                error=f"expected {len(names)} fields, found {len(cells)}",
                where=f"{file} line {start}",
            )
            continue
        record: dict[str, Any] = dict(zip(names, cells, strict=True))
        if empty_as_null:
            record = {k: (None if v == "" else v) for k, v in record.items()}
        yield record, {"file": file, "row": row, "row_id": f"{file}:{row}", "line": start}
