"""Message bodies into records: JSON, XML, CSV or plain text, picked by ``read.format`` or — with
``auto`` — by the message's content type, else by its first byte.

A :class:`Decoder` is built once per read so the per-message work is one parse and one path lookup;
with JSON bodies, UTF-8 and no ``records`` path it is a single ``orjson.loads``.
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
from typing import Any, Literal

import orjson
from pydantic import Field, field_validator

from openconnector.connectors.base import ReadBase, StrictModel
from openconnector.connectors.http.xml import XMLSyntaxError, xml_to_dict
from openconnector.jsonutil import MISSING, get_path, loads_source, split_path

Format = Literal["auto", "json", "xml", "csv", "text"]


class DecodeError(ValueError):
    """The body is not what the read expects; the message says what is wrong, never the body."""


class CsvOptions(StrictModel):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    columns: list[str] | None = Field(
        default=None, description="Column names; absent = the first row of each message is the header."
    )


class MessageRead(ReadBase):
    """``read`` keys every queue source has (see docs/connectors/rabbitmq.md and kafka.md)."""

    format: Format = Field(
        "auto",
        description="Body format; auto = by content type (RabbitMQ) or first byte ({ [ → JSON, < → XML).",
    )
    encoding: str = Field("utf-8", description="Text encoding of the bodies.")
    csv: CsvOptions = Field(default_factory=CsvOptions)
    xml_lists: list[str] = Field(
        default_factory=list,
        description="XML element names that are always lists (so paths keep their shape).",
    )
    on_undecodable: Literal["quarantine", "dead_letter"] = Field(
        "quarantine",
        description="A body that cannot be decoded: quarantined with its raw text, or dead-lettered.",
    )
    batch_wait: float = Field(
        0.2, gt=0, le=60, description="Seconds to wait for a batch to fill once its first message is in."
    )
    idle_timeout: float = Field(
        1.0, gt=0, le=3600, description="A run (not consume) stops when no message came for this long."
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, latin-1, cp1252)") from None
        return value


def raw_body(body: bytes, encoding: str = "utf-8") -> Any:
    """What a quarantine entry keeps of a body: its text, or base64 when it is not text."""
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


def _by_content_type(content_type: str) -> str | None:
    ct = content_type.lower()
    for fmt in ("json", "xml", "csv"):
        if fmt in ct:
            return fmt
    return None


def _sniff(content_type: str | None, body: bytes) -> str:
    if content_type:
        fmt = _by_content_type(content_type)
        if fmt is not None:
            return fmt
    first = body[:1]  # nearly always the first byte decides, without copying the head
    if first in (b"{", b"["):
        return "json"
    if first == b"<":
        return "xml"
    head = body[:64].removeprefix(codecs.BOM_UTF8).lstrip()  # .NET producers start with a BOM
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<":
        return "xml"
    raise DecodeError(
        f"cannot tell the body's format (content type {content_type or 'not set'}, "
        f"first byte {head[:1]!r}); set read.format"
    )


class Decoder:
    """``decoder(body, content_type)`` → the message's records (a list; items need not be objects:
    the engine quarantines those that are not). Raises :class:`DecodeError`."""

    def __init__(self, read: MessageRead) -> None:
        self.format = read.format
        self.encoding = read.encoding
        self.utf8 = codecs.lookup(read.encoding).name == "utf-8"
        self.records = read.records or None
        self.path = split_path(read.records) if read.records else None
        self.csv = read.csv
        self.xml_lists = frozenset(read.xml_lists)
        self._by_type: dict[str, str] = {}  # content type → format ("": sniff the body)

    def __call__(self, body: bytes, content_type: str | None = None) -> list[Any]:
        fmt: str = self.format
        if fmt == "auto":
            fmt = ""
            if content_type:
                known = self._by_type.get(content_type)
                if known is None:
                    known = _by_content_type(content_type) or ""
                    if len(self._by_type) < 64:  # a handful of content types per queue, in practice
                        self._by_type[content_type] = known
                fmt = known
            if not fmt:
                fmt = _sniff(None, body)
        if fmt == "json":
            try:
                doc = loads_source(body if self.utf8 else self._text(body))
            except orjson.JSONDecodeError as exc:
                raise DecodeError(f"not valid JSON: {exc}") from None
            if self.path is None:
                return doc if type(doc) is list else [doc]
            return self._pick(doc)
        if fmt == "xml":
            try:
                return self._pick(xml_to_dict(body if self.utf8 else self._text(body), self.xml_lists))
            except XMLSyntaxError as exc:
                raise DecodeError(f"not well-formed XML: {exc}") from None
        if fmt == "csv":
            return self._csv(self._text(body))
        return [{"body": self._text(body)}]

    def _text(self, body: bytes) -> str:
        try:
            return body.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise DecodeError(
                f"not valid {self.encoding} at byte {exc.start} ({exc.reason}); set read.encoding"
            ) from None

    def _pick(self, doc: Any) -> list[Any]:
        if self.path is None:
            return doc if isinstance(doc, list) else [doc]
        found = get_path(doc, self.path)
        if found is MISSING:
            raise DecodeError(f"the message has nothing at '{self.records}' (read.records)")
        if isinstance(found, list):
            return found
        if isinstance(found, dict):
            return [found]
        raise DecodeError(
            f"'{self.records}' (read.records) holds a {type(found).__name__}, not a record or a list"
        )

    def _csv(self, text: str) -> list[Any]:
        opts = self.csv
        try:
            rows = list(
                csv.reader(io.StringIO(text, newline=""), delimiter=opts.delimiter, quotechar=opts.quotechar)
            )
        except csv.Error as exc:
            raise DecodeError(f"not valid CSV: {exc}") from None
        rows = [r for r in rows if r]
        columns = opts.columns
        if columns is None:
            if not rows:
                raise DecodeError("empty CSV message (no header row)")
            columns, rows = rows[0], rows[1:]
        out: list[Any] = []
        for n, row in enumerate(rows, start=1):
            if len(row) != len(columns):
                raise DecodeError(f"CSV row {n} has {len(row)} fields, the header has {len(columns)}")
            out.append(dict(zip(columns, row, strict=True)))
        return out
