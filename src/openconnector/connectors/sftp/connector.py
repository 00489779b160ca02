"""Source type ``sftp``: a drop folder on an SFTP server."""

from __future__ import annotations

from openconnector.connectors import register
from openconnector.connectors.base import SourceBase
from openconnector.connectors.files.remote import RemoteDropConnector
from openconnector.connectors.sftp.client import SftpFileSystem
from openconnector.connectors.sftp.config import SftpSource


@register
class SftpConnector(RemoteDropConnector):
    type = "sftp"
    Source = SftpSource

    def filesystem(self, source: SourceBase) -> SftpFileSystem:
        assert isinstance(source, SftpSource)
        return SftpFileSystem(source)
