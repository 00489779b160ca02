"""The small filesystem interface a file drop needs: list a folder, stat, open, rename, remove.

A local folder, an FTP server and an SFTP server each implement it (:mod:`.local`,
``connectors.ftp``, ``connectors.sftp``); everything else — globbing, skipping half-written files,
parsing, batching and the after-actions — is written once against it in :mod:`.drop`.

Paths are ``/``-separated and relative to the source's folder (``in/orders.csv``); a path that
starts with ``/`` is absolute on that filesystem (a ``processed_dir`` outside the drop folder).
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    size: int
    mtime: float  # seconds since the epoch; only compared with itself, never with our clock


@dataclass(frozen=True, slots=True)
class DirEntry:
    name: str
    is_dir: bool
    size: int
    mtime: float


class OpenedFile(ABC):
    """A file being read. ``read`` is called from the parser's worker thread (parsers are
    synchronous C code: csv, lxml, ijson); ``aclose`` from the event loop once the parser is done."""

    @abstractmethod
    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end of the file."""

    @abstractmethod
    async def aclose(self) -> None: ...


class FileSystem(ABC):
    """What :class:`~.drop.FileDrop` needs from a place files are dropped in."""

    #: names the place in messages (``sftp://host:22/in``); never holds a secret
    label: str = ""

    @abstractmethod
    async def listdir(self, path: str) -> list[DirEntry]:
        """Entries of a folder (``""`` = the source folder). ``FileNotFoundError`` if it is missing."""

    @abstractmethod
    async def stat(self, path: str) -> FileInfo | None:
        """Size and mtime of a file, ``None`` if there is none."""

    @abstractmethod
    async def open(self, info: FileInfo) -> OpenedFile:
        """Open for reading. ``FileNotFoundError`` if it disappeared since it was listed."""

    @abstractmethod
    async def rename(self, src: str, dst: str) -> None:
        """Move a file; the caller made sure ``dst`` is free and its folder exists."""

    @abstractmethod
    async def remove(self, path: str) -> None: ...

    @abstractmethod
    async def makedirs(self, path: str) -> None:
        """Create a folder and its parents; no error if it exists."""

    async def exists(self, path: str) -> bool:
        return await self.stat(path) is not None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def join(*parts: str) -> str:
    """Join relative path parts with ``/``, ignoring empty ones."""
    return posixpath.join(*[p for p in parts if p]) if any(parts) else ""


def resolve(base: str, path: str) -> str:
    """``path`` on the server/disk: relative ones are under ``base``, absolute ones stay."""
    if path.startswith("/"):
        return posixpath.normpath(path)
    if not path:
        return base or "."
    return posixpath.join(base, path) if base else path
