"""Source type ``ftp``: FTP and explicit FTPS drop folders (aioftp); the file handling is the shared
:mod:`openconnector.connectors.files` drop."""

from openconnector.connectors.ftp.client import FtpFileSystem
from openconnector.connectors.ftp.config import FtpSource
from openconnector.connectors.ftp.connector import FtpConnector

__all__ = ["FtpConnector", "FtpFileSystem", "FtpSource"]
