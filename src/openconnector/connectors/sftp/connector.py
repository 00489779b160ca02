"""Source type ``sftp``: a drop folder on an SFTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator

from openconnector.connectors import register
from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext, SourceBase
from openconnector.connectors.files.config import FileRead
from openconnector.connectors.files.drop import FileDrop
from openconnector.connectors.sftp.client import SftpFileSystem
from openconnector.connectors.sftp.config import SftpSource


@register
class SftpConnector(Connector):
    type = "sftp"
    Source = SftpSource
    Read = FileRead

    def __init__(self, name: str, source: SourceBase) -> None:
        super().__init__(name, source)
        assert isinstance(source, SftpSource)
        self.fs = SftpFileSystem(source)

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        if not isinstance(read, FileRead):
            raise ConnectorError("sftp sources need a files read block (read.path)")
        async for batch in FileDrop(self.fs, read, ctx).batches():
            yield batch

    async def check(self) -> None:
        await self.fs.listdir("")

    async def aclose(self) -> None:
        await self.fs.aclose()
