"""XLSX: openpyxl in read-only mode (rows streamed from the sheet XML). A zip needs seeking, so a
remote file is first spooled to a temporary file (in memory up to 16 MB, on disk beyond)."""

from __future__ import annotations

import datetime as dt
import tempfile
import zipfile
from typing import Any

from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.decode import CHUNK, FileFailure, Readable
from openconnector.connectors.files.formats.common import Items, column_names, meta

SPOOL_IN_MEMORY = 16 << 20


def _cell(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    return v


def parse_xlsx(raw: Readable, read: FileRead, file: str) -> Items:
    from openpyxl import load_workbook

    opts = read.xlsx
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        while chunk := raw.read(CHUNK):
            spool.write(chunk)
        spool.seek(0)
        try:
            wb = load_workbook(spool, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileFailure(f"{file}: not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
        try:
            yield from _rows(wb, opts, file)
        except FileFailure:
            raise
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
            raise FileFailure(f"{file}: the workbook is damaged ({type(exc).__name__}: {exc})") from None
        finally:
            wb.close()


def _rows(wb: Any, opts: Any, file: str) -> Items:
    sheets = wb.sheetnames
    if isinstance(opts.sheet, str):
        if opts.sheet not in sheets:
            raise FileFailure(f"{file}: no sheet {opts.sheet!r} (sheets: {', '.join(sheets)})")
        ws = wb[opts.sheet]
    else:
        index = (opts.sheet or 1) - 1
        if not 0 <= index < len(sheets):
            raise FileFailure(f"{file}: no sheet number {opts.sheet} (it has {len(sheets)})")
        ws = wb.worksheets[index]
    ws.reset_dimensions()  # the stored dimensions are often wrong; read the rows that are there
    names: list[str] | None = list(opts.columns) if opts.columns else None
    need_header = opts.header
    row = 0
    for sheet_row, cells in enumerate(
        ws.iter_rows(min_row=opts.header_row, values_only=True), opts.header_row
    ):
        if need_header:
            need_header = False
            if names is None:
                names = column_names(cells)
            continue
        values = [_cell(v) for v in cells]
        while values and (values[-1] is None or values[-1] == ""):
            values.pop()
        if not values:  # an empty row
            continue
        if names is None:
            names = []
        while len(names) < len(values):  # cells beyond the header: name them by position
            names.append(f"col_{len(names) + 1}")
        values.extend([None] * (len(names) - len(values)))
        row += 1
        yield dict(zip(names, values, strict=True)), meta(file, row, sheet=ws.title, sheet_row=sheet_row)
