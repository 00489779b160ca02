"""Source type ``files``: a folder on the local disk (or a mounted share) where files are dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from pydantic import Field, field_validator

from openconnector.connectors import register
from openconnector.connectors.auth import NoAuth
from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext, SourceBase
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.drop import FileDrop
from openconnector.connectors.files.local import LocalFileSystem


class FilesSource(SourceBase):
    type: Literal["files"] = "files"
    location: str = Field(
        min_length=1,
        description="The folder files are dropped in (absolute, or relative to the working directory).",
    )

    @field_validator("auth")
    @classmethod
    def _no_auth(cls, v: object) -> object:
        if not isinstance(v, NoAuth):
            raise ValueError("a local folder takes no auth")
        return v

    @field_validator("location")
    @classmethod
    def _folder(cls, v: str) -> str:
        return v.removeprefix("file://")


@register
class FilesConnector(Connector):
    type = "files"
    Source = FilesSource
    Read = FileRead

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        if not isinstance(read, FileRead):
            raise ConnectorError("files sources need a files read block (read.path)")
        assert isinstance(self.source, FilesSource)
        async for batch in FileDrop(LocalFileSystem(self.source.location), read, ctx).batches():
            yield batch

    async def check(self) -> None:
        fs = LocalFileSystem(self.source.location)
        if not fs.root.is_dir():
            raise ConnectorError(f"the folder {fs.root} does not exist")
