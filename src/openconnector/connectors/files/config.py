"""Config models shared by every file-drop source (``files``, ``ftp``, ``sftp``).

The ``read`` block means the same for a local folder and a remote one, so all three connectors use
:class:`FileRead`; only the ``sources.<name>`` block differs per protocol.
"""

from __future__ import annotations

import codecs
from typing import Literal

from pydantic import Field, field_validator, model_validator

from openconnector.connectors.base import ReadBase, SourceBase, StrictModel

FileFormat = Literal["csv", "json", "ndjson", "xml", "xlsx"]
CastName = Literal["string", "int", "float", "number", "bool"]
AfterAction = Literal["move", "delete", "keep"]

#: the file name suffixes that pick a format when ``read.format`` is not set
EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xml": "xml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}

ROW_ID = "_meta.row_id"
"""What ``id: "@row"`` turns into: the engine resolves ids from the record merged with ``_meta``."""


class CsvOptions(StrictModel):
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator (one character).")
    quote: str = Field('"', min_length=1, max_length=1, description="Quote character.")
    header: bool = Field(True, description="The first row holds the column names.")
    columns: list[str] | None = Field(
        None, description="Column names to use (with header: true they replace the file's header)."
    )
    empty_as_null: bool = Field(False, description="An empty cell becomes null instead of an empty string.")

    @model_validator(mode="after")
    def _need_names(self) -> CsvOptions:
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError("csv.columns has duplicate names")
        return self


class XlsxOptions(StrictModel):
    sheet: str | int | None = Field(
        None, description="Sheet name, or its position counted from 1; default the first sheet."
    )
    header: bool = Field(True, description="The header row holds the column names.")
    header_row: int = Field(1, ge=1, description="Sheet row of the header (rows above it are skipped).")
    columns: list[str] | None = Field(None, description="Column names to use instead of the header.")


class FileRead(ReadBase):
    """The ``read`` block of a files/ftp/sftp pipeline."""

    path: str = Field(
        description="Glob relative to the source folder: '*.csv', 'in/**/*.xml' ('**' = any folders)."
    )
    format: FileFormat | None = Field(None, description="Default: from the file's extension.")
    encoding: str | None = Field(
        None, description="Text encoding (default utf-8; a BOM is skipped; XML: its own declaration)."
    )
    csv: CsvOptions = Field(default_factory=lambda: CsvOptions.model_validate({}))
    xlsx: XlsxOptions = Field(default_factory=lambda: XlsxOptions.model_validate({}))
    types: dict[str, CastName] = Field(
        default_factory=dict,
        description="Field (dot-path) → type; a value that does not convert quarantines its row.",
    )
    after: AfterAction = Field("move", description="What happens to a file once its records are stored.")
    processed_dir: str = Field(
        "processed", description="Where `after: move` puts files (relative to the source)."
    )
    failed_dir: str = Field("failed", description="Where a file that cannot be read as a whole goes.")
    ignore: list[str] = Field(
        default_factory=lambda: ["*.part", "*.tmp", "*.filepart", ".*", "~*"],
        description="Names (fnmatch patterns) never read: files still being written, hidden files.",
    )
    done_marker: str | None = Field(
        None, description="Suffix of a companion file that says a file is complete, e.g. '.done'."
    )
    stable_seconds: float = Field(
        5.0, ge=0, description="A file is read only if its size and mtime did not change for this long."
    )
    max_files: int | None = Field(None, ge=1, description="At most this many files per run (oldest first).")

    @field_validator("id", mode="after")
    @classmethod
    def _row_id(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, str):
            return ROW_ID if v == "@row" else v
        return [ROW_ID if p == "@row" else p for p in v]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                codecs.lookup(v)
            except LookupError:
                raise ValueError(f"unknown encoding {v!r}") from None
        return v

    @field_validator("path")
    @classmethod
    def _relative_glob(cls, v: str) -> str:
        v = v.strip()
        if not v or v.endswith("/"):
            raise ValueError("must name files, e.g. '*.csv' or 'in/**/*.json'")
        if v.startswith("/") or ".." in v.split("/"):
            raise ValueError("must be relative to the source's folder (no leading '/', no '..')")
        return v

    @field_validator("processed_dir", "failed_dir")
    @classmethod
    def _dir(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not v or ".." in v.split("/"):
            raise ValueError("must be a folder (no '..')")
        return v

    @model_validator(mode="after")
    def _distinct_dirs(self) -> FileRead:
        if self.processed_dir == self.failed_dir and self.after == "move":
            raise ValueError("processed_dir and failed_dir must differ")
        return self


class RemoteSourceBase(SourceBase):
    """Connection options shared by the remote file sources (ftp, sftp)."""

    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the server on each step.")
    retries: int = Field(
        3, ge=0, le=20, description="Reconnect-and-resume attempts when a transfer or connection breaks."
    )
    retry_delay: float = Field(1.0, ge=0, description="Seconds before the first retry (doubles each time).")
