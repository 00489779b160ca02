"""Source type ``ftp``: a drop folder on an FTP or explicit-FTPS server."""

from __future__ import annotations

from openconnector.connectors import register
from openconnector.connectors.base import SourceBase
from openconnector.connectors.files.remote import RemoteDropConnector
from openconnector.connectors.ftp.client import FtpFileSystem
from openconnector.connectors.ftp.config import FtpSource


@register
class FtpConnector(RemoteDropConnector):
    type = "ftp"
    Source = FtpSource

    def filesystem(self, source: SourceBase) -> FtpFileSystem:
        assert isinstance(source, FtpSource)
        return FtpFileSystem(source)
