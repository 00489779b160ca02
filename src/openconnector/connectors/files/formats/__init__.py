"""Incremental parsers, one per file format. Each takes a byte reader and yields records with their
``meta`` or :class:`~openconnector.connectors.base.RecordError`; a problem with the file as a whole
raises :class:`~openconnector.connectors.files.decode.FileFailure`."""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from openconnector.connectors.files.config import EXTENSIONS, FileFormat, FileRead
from openconnector.connectors.files.decode import FileFailure, Readable
from openconnector.connectors.files.formats.common import Item, Items, Meta, where_of
from openconnector.connectors.files.formats.delimited import parse_csv
from openconnector.connectors.files.formats.jsondoc import parse_json, parse_ndjson
from openconnector.connectors.files.formats.workbook import parse_xlsx
from openconnector.connectors.files.formats.xmldoc import parse_xml

Parser = Callable[[Readable, FileRead, str], Items]

PARSERS: dict[str, Parser] = {
    "csv": parse_csv,
    "json": parse_json,
    "ndjson": parse_ndjson,
    "xml": parse_xml,
    "xlsx": parse_xlsx,
}


def format_of(path: str, configured: FileFormat | None) -> FileFormat:
    """``read.format``, else the format the file's extension names."""
    if configured is not None:
        return configured
    ext = posixpath.splitext(path)[1].lower()
    fmt = EXTENSIONS.get(ext)
    if fmt is None:
        raise FileFailure(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; set read.format"
        )
    return fmt


__all__ = ["PARSERS", "Item", "Items", "Meta", "Parser", "format_of", "where_of"]
