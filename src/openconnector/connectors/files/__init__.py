"""File drops: source type ``files`` (a local folder) and the parts the ``ftp`` and ``sftp`` sources
share with it — the ``read`` block (:class:`FileRead`), the format parsers, and :class:`FileDrop`,
which does list → skip incomplete → parse → batches → move/delete/remember over a small
:class:`FileSystem` interface.
"""

from openconnector.connectors.files.config import CsvOptions, FileRead, RemoteSourceBase, XlsxOptions
from openconnector.connectors.files.connector import FilesConnector, FilesSource
from openconnector.connectors.files.drop import FileDrop
from openconnector.connectors.files.fs import DirEntry, FileInfo, FileSystem, OpenedFile
from openconnector.connectors.files.local import LocalFileSystem
from openconnector.connectors.files.remote import RemoteFileSystem, RemoteStream

__all__ = [
    "CsvOptions",
    "DirEntry",
    "FileDrop",
    "FileInfo",
    "FileRead",
    "FileSystem",
    "FilesConnector",
    "FilesSource",
    "LocalFileSystem",
    "OpenedFile",
    "RemoteFileSystem",
    "RemoteSourceBase",
    "RemoteStream",
    "XlsxOptions",
]
