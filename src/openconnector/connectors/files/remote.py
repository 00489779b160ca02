"""What the FTP and SFTP filesystems share: reconnect when the server drops the connection, resume
a broken download at the byte it stopped (so the parser sees every byte exactly once and no record
is yielded twice), time-box every server round trip, and hand bytes to the parser thread.

A protocol implements the ``_``-prefixed hooks with its client library; nothing here speaks a
protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext, SourceBase
from openconnector.connectors.files.config import FileRead, RemoteSourceBase
from openconnector.connectors.files.drop import FileDrop
from openconnector.connectors.files.fs import DirEntry, FileInfo, FileSystem, OpenedFile, resolve

T = TypeVar("T")
log = logging.getLogger("openconnector.connector.files")


class RemoteStream:
    """One open download as the protocol's client gives it."""

    async def read(self, size: int) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    async def finish(self) -> None:
        """Called at the end of the data: FTP waits for the server's "transfer complete" here."""

    async def abort(self) -> None:
        """Stop before the end (the parser gave up on the file)."""


class RemoteFileSystem(FileSystem):
    """A :class:`FileSystem` over a connection that may break; subclasses speak the protocol."""

    def __init__(self, options: RemoteSourceBase, base: str, label: str) -> None:
        self.options = options
        self.base = base
        self.label = label
        self._connected = False
        self._lock = asyncio.Lock()

    # -- protocol hooks -------------------------------------------------------------------------
    @abstractmethod
    async def _connect(self) -> None:
        """Open the connection and log in; raise :class:`ConnectorError` for a refusal that a retry
        will not fix (credentials, host key)."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Drop the connection without waiting for a polite goodbye."""

    @abstractmethod
    def _transient(self, exc: BaseException) -> bool:
        """Would reconnecting and trying again help?"""

    @abstractmethod
    def _missing(self, exc: BaseException) -> bool:
        """Does ``exc`` say the file or folder does not exist?"""

    def _describe(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}"

    @abstractmethod
    async def _listdir(self, path: str) -> list[DirEntry]: ...

    @abstractmethod
    async def _stat(self, path: str) -> FileInfo | None: ...

    @abstractmethod
    async def _open_at(self, path: str, offset: int) -> RemoteStream: ...

    @abstractmethod
    async def _rename(self, src: str, dst: str) -> None: ...

    @abstractmethod
    async def _remove(self, path: str) -> None: ...

    @abstractmethod
    async def _makedirs(self, path: str) -> None: ...

    # -- retry machinery ------------------------------------------------------------------------
    async def reset(self) -> None:
        """Forget the connection; the next call reconnects."""
        if self._connected:
            self._connected = False
            with contextlib.suppress(Exception):  # already broken: nothing to be polite to
                await self._disconnect()

    async def ensure_connected(self) -> None:
        async with self._lock:
            if not self._connected:
                await asyncio.wait_for(self._connect(), self.options.timeout)
                self._connected = True

    async def backoff(self, what: str, attempt: int, exc: BaseException) -> None:
        """Sleep before retry ``attempt`` (1-based) or raise once the retries are used up."""
        if attempt > self.options.retries:
            raise ConnectorError(
                f"{what} failed after {attempt} attempts: {self._describe(exc)}",
                where=self.label,
                retryable=True,
            ) from exc
        log.warning(
            "%s: %s failed (%s); reconnecting, attempt %d", self.label, what, self._describe(exc), attempt
        )
        await asyncio.sleep(self.options.retry_delay * 2 ** (attempt - 1))

    def translate(self, what: str, path: str, exc: BaseException) -> BaseException | None:
        """The exception to raise for ``exc`` instead of retrying, or ``None`` to retry."""
        if isinstance(exc, ConnectorError):
            return exc
        if isinstance(exc, FileNotFoundError) or self._missing(exc):
            return FileNotFoundError(f"{path}: no such file or folder")
        if isinstance(exc, TimeoutError) or self._transient(exc):
            return None
        return ConnectorError(f"{what}: {self._describe(exc)}", where=self.label)

    async def call(self, what: str, path: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        attempt = 0
        while True:
            try:
                await self.ensure_connected()
                return await asyncio.wait_for(fn(*args), self.options.timeout)
            except Exception as exc:
                final = self.translate(what, path, exc)
                if final is not None:
                    if final is exc:
                        raise
                    raise final from exc
                await self.reset()
                attempt += 1
                await self.backoff(what, attempt, exc)

    # -- FileSystem -----------------------------------------------------------------------------
    def abspath(self, path: str) -> str:
        return resolve(self.base, path)

    async def listdir(self, path: str) -> list[DirEntry]:
        return await self.call(f"listing {path or '.'}", path, self._listdir, self.abspath(path))

    async def stat(self, path: str) -> FileInfo | None:
        found = await self.call(f"stat {path}", path, self._stat, self.abspath(path))
        return FileInfo(path, found.size, found.mtime) if found is not None else None

    async def open(self, info: FileInfo) -> OpenedFile:
        download = ResumableDownload(self, info)
        await download.start()
        return RemoteOpenedFile(download, asyncio.get_running_loop())

    async def rename(self, src: str, dst: str) -> None:
        await self.call(f"moving {src} to {dst}", src, self._rename, self.abspath(src), self.abspath(dst))

    async def remove(self, path: str) -> None:
        await self.call(f"deleting {path}", path, self._remove, self.abspath(path))

    async def makedirs(self, path: str) -> None:
        await self.call(f"creating folder {path}", path, self._makedirs, self.abspath(path))

    async def aclose(self) -> None:
        await self.reset()


class ResumableDownload:
    """Reads one file; when the connection breaks, reconnects and continues at the byte it had
    reached (FTP ``REST``, SFTP read-at-offset). A transfer that ends before the listed size counts
    as broken too: some servers close the data connection cleanly when they give up."""

    def __init__(self, fs: RemoteFileSystem, info: FileInfo) -> None:
        self.fs = fs
        self.info = info
        self.offset = 0
        self._stream: RemoteStream | None = None
        self._eof = False

    async def _open(self) -> None:
        path = self.fs.abspath(self.info.path)
        self._stream = await self.fs.call(
            f"opening {self.info.path}", self.info.path, self.fs._open_at, path, self.offset
        )

    async def start(self) -> None:
        await self._open()

    async def read(self, size: int) -> bytes:
        if self._eof:
            return b""
        attempt = 0
        what = f"downloading {self.info.path} (at byte {self.offset} of {self.info.size})"
        while True:
            try:
                if self._stream is None:
                    await self._open()
                assert self._stream is not None
                data = await asyncio.wait_for(self._stream.read(size), self.fs.options.timeout)
                if data:
                    self.offset += len(data)
                    return data
                stream, self._stream = self._stream, None
                await asyncio.wait_for(stream.finish(), self.fs.options.timeout)
                if self.offset < self.info.size:
                    raise ConnectionError(f"transfer ended at byte {self.offset} of {self.info.size}")
                self._eof = True
                return b""
            except Exception as exc:
                final = None if isinstance(exc, ConnectionError) else self.fs.translate(what, "", exc)
                if isinstance(final, FileNotFoundError):
                    final = ConnectorError(
                        f"{self.info.path} disappeared while it was read", where=self.fs.label
                    )
                if final is not None:
                    await self._drop()
                    if final is exc:
                        raise
                    raise final from exc
                await self._drop()
                await self.fs.reset()
                attempt += 1
                await self.fs.backoff(what, attempt, exc)

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                await asyncio.wait_for(stream.abort(), self.fs.options.timeout)
            except Exception:
                await self.fs.reset()

    async def close(self) -> None:
        await self._drop()


class RemoteOpenedFile(OpenedFile):
    """The parser thread's view of a download: each ``read`` runs on the event loop and waits."""

    def __init__(self, download: ResumableDownload, loop: asyncio.AbstractEventLoop) -> None:
        self._download = download
        self._loop = loop

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        return asyncio.run_coroutine_threadsafe(self._download.read(size), self._loop).result()

    async def aclose(self) -> None:
        await self._download.close()


def split_location(location: str, schemes: dict[str, int]) -> tuple[str, str, int, str]:
    """``sftp://host:2222/data/in`` → ``("sftp", "host", 2222, "/data/in")``.

    The folder is absolute; ``/~/in`` (or no path) is relative to the login folder. ``schemes`` maps
    each accepted scheme to its default port.
    """
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(location if "://" in location else f"{next(iter(schemes))}://{location}")
    if parts.scheme not in schemes:
        raise ValueError(f"must start with {' or '.join(s + '://' for s in schemes)}")
    if not parts.hostname:
        raise ValueError("names no host")
    if parts.username or parts.password:
        raise ValueError("must not hold a user or password; put them in auth")
    try:
        port = parts.port or schemes[parts.scheme]
    except ValueError:
        raise ValueError("has an invalid port") from None
    path = unquote(parts.path)
    if path != "/":
        path = path.rstrip("/")
    if path in ("", "/~"):
        base = ""
    elif path.startswith("/~/"):
        base = path[3:]
    else:
        base = path
    return parts.scheme, parts.hostname, port, base


class RemoteDropConnector(Connector):
    """A drop folder on a server: the protocol only supplies its file system (FTP, SFTP)."""

    Read = FileRead

    def __init__(self, name: str, source: SourceBase) -> None:
        super().__init__(name, source)
        self.fs = self.filesystem(source)

    @abstractmethod
    def filesystem(self, source: SourceBase) -> RemoteFileSystem:
        """The protocol's file system for ``source``."""

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        if not isinstance(read, FileRead):
            raise ConnectorError(f"{self.type} sources need a files read block (read.path)")
        async for batch in FileDrop(self.fs, read, ctx).batches():
            yield batch

    async def check(self) -> None:
        await self.fs.listdir("")

    async def aclose(self) -> None:
        await self.fs.aclose()
