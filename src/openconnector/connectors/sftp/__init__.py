"""Source type ``sftp``: SFTP drop folders (asyncssh) with password or key login and host-key
checking; the file handling is the shared :mod:`openconnector.connectors.files` drop."""

from openconnector.connectors.sftp.client import SftpFileSystem
from openconnector.connectors.sftp.config import SftpSource
from openconnector.connectors.sftp.connector import SftpConnector

__all__ = ["SftpConnector", "SftpFileSystem", "SftpSource"]
