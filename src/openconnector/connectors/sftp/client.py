"""An SFTP server as a :class:`~openconnector.connectors.files.fs.FileSystem`, via asyncssh.

Reads are issued in parallel blocks (asyncssh's reader), and each read names its offset, so after a
dropped connection the download continues at the byte it reached.
"""

from __future__ import annotations

import stat as stat_mod
from typing import Any

import asyncssh

from openconnector.connectors.auth import BasicAuth, SSHKeyAuth
from openconnector.connectors.base import ConnectorError
from openconnector.connectors.files.fs import DirEntry, FileInfo, join
from openconnector.connectors.files.remote import RemoteFileSystem, RemoteStream, split_location
from openconnector.connectors.sftp.config import SCHEMES, SftpSource
from openconnector.connectors.sftp.hostkeys import PinnedHostKeyClient, known_hosts_arg

_TRANSIENT = (
    asyncssh.ConnectionLost,
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
    asyncssh.ChannelOpenError,
    asyncssh.ServiceNotAvailable,
    OSError,
    TimeoutError,
    EOFError,
)


class _SftpStream(RemoteStream):
    def __init__(self, fh: Any, offset: int) -> None:
        self._fh = fh
        self._offset = offset

    async def read(self, size: int) -> bytes:
        data: bytes = await self._fh.read(size, self._offset)
        self._offset += len(data)
        return data

    async def finish(self) -> None:
        await self._fh.close()

    async def abort(self) -> None:
        await self._fh.close()


class SftpFileSystem(RemoteFileSystem):
    def __init__(self, source: SftpSource) -> None:
        _, host, port, base = split_location(source.location, SCHEMES)
        super().__init__(source, base, f"sftp://{host}:{port}/{base.lstrip('/')}")
        self.source = source
        self.host = host
        self.port = port
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    @property
    def sftp(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            raise ConnectionError("not connected")
        return self._sftp

    async def _connect(self) -> None:
        src = self.source
        auth = src.auth
        options: dict[str, Any] = {"agent_path": None, "config": None, "password": None, "client_keys": None}
        if isinstance(auth, BasicAuth):
            options.update(username=auth.username, password=auth.password.get_secret_value())
        elif isinstance(auth, SSHKeyAuth):
            try:
                key = asyncssh.read_private_key(
                    auth.private_key, auth.passphrase.get_secret_value() if auth.passphrase else None
                )
            except (OSError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
                raise ConnectorError(
                    f"cannot load the private key {auth.private_key}: {type(exc).__name__}: {exc}",
                    where=self.label,
                ) from None
            options.update(username=auth.username, client_keys=[key])
        try:
            known_hosts = known_hosts_arg(src)
        except FileNotFoundError as exc:
            raise ConnectorError(f"known_hosts file {exc} does not exist", where=self.label) from None
        except (ValueError, asyncssh.Error) as exc:
            raise ConnectorError(f"known_hosts cannot be read: {exc}", where=self.label) from None
        checker = PinnedHostKeyClient(src.fingerprints)
        try:
            conn, _ = await asyncssh.create_connection(
                lambda: checker, self.host, self.port, known_hosts=known_hosts, **options
            )
        except asyncssh.HostKeyNotVerifiable:
            raise ConnectorError(
                f"the server's host key ({checker.seen or 'unknown'}) is not trusted: it is not in "
                "known_hosts and not pinned in host_key_fingerprint. Check the fingerprint with the "
                "server's administrator before adding it",
                where=self.label,
            ) from None
        except asyncssh.PermissionDenied:
            raise ConnectorError(
                f"login as {options['username']!r} refused: wrong password or key", where=self.label
            ) from None
        except ValueError as exc:  # asyncssh: malformed known_hosts lines
            raise ConnectorError(f"cannot connect: {exc}", where=self.label) from None
        try:
            self._sftp = await conn.start_sftp_client()
        except BaseException:
            conn.abort()
            raise
        self._conn = conn

    async def _disconnect(self) -> None:
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.abort()

    def _transient(self, exc: BaseException) -> bool:
        if isinstance(exc, (asyncssh.PermissionDenied, asyncssh.HostKeyNotVerifiable)):
            return False
        return isinstance(exc, (*_TRANSIENT, asyncssh.DisconnectError))

    def _missing(self, exc: BaseException) -> bool:
        return isinstance(exc, (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath))

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, asyncssh.SFTPError):
            return f"server replied: {exc.reason}"
        return super()._describe(exc)

    async def _listdir(self, path: str) -> list[DirEntry]:
        out = []
        for name in await self.sftp.readdir(path):
            fname = name.filename if isinstance(name.filename, str) else name.filename.decode()
            if fname in (".", ".."):
                continue
            attrs = name.attrs
            if attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:
                try:
                    attrs = await self.sftp.stat(join(path, fname))
                except asyncssh.SFTPNoSuchFile:  # dangling link
                    continue
            is_dir = attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY or (
                attrs.permissions is not None and stat_mod.S_ISDIR(attrs.permissions)
            )
            out.append(DirEntry(fname, is_dir, attrs.size or 0, float(attrs.mtime or 0)))
        return out

    async def _stat(self, path: str) -> FileInfo | None:
        try:
            attrs = await self.sftp.stat(path)
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
            return None
        return FileInfo(path, attrs.size or 0, float(attrs.mtime or 0))

    async def _open_at(self, path: str, offset: int) -> RemoteStream:
        fh = await self.sftp.open(path, "rb")
        return _SftpStream(fh, offset)

    async def _rename(self, src: str, dst: str) -> None:
        await self.sftp.rename(src, dst)

    async def _remove(self, path: str) -> None:
        await self.sftp.remove(path)

    async def _makedirs(self, path: str) -> None:
        await self.sftp.makedirs(path, exist_ok=True)
