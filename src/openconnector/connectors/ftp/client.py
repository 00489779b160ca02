"""An FTP/FTPS server as a :class:`~openconnector.connectors.files.fs.FileSystem`, via aioftp.

Passive mode only (aioftp tries EPSV, then PASV), which is what works through firewalls and NAT.
With ``tls`` the control connection is upgraded with AUTH TLS and data connections are protected
(PROT P), reusing the TLS session as servers that require it expect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from typing import Any

import aioftp

from openconnector.connectors.auth import BasicAuth
from openconnector.connectors.base import ConnectorError
from openconnector.connectors.files.fs import DirEntry, FileInfo
from openconnector.connectors.files.remote import RemoteFileSystem, RemoteStream, split_location
from openconnector.connectors.ftp.config import SCHEMES, FtpSource

_MISSING_TEXT = ("no such file", "not found", "does not exist", "not exist", "cannot find", "can't find")


def _code(exc: BaseException) -> str:
    if isinstance(exc, aioftp.StatusCodeError) and exc.received_codes:
        return str(exc.received_codes[-1])
    return ""


def _mtime(info: dict[str, Any]) -> float:
    """MLSD ``modify`` (``YYYYMMDDHHMMSS[.fff]``, UTC) as epoch seconds; 0 if the server gives none."""
    raw = str(info.get("modify") or "")
    try:
        stamp = dt.datetime.strptime(raw[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return 0.0
    frac = raw[15:] if len(raw) > 15 and raw[14] == "." else ""
    return stamp.timestamp() + (float(f"0.{frac}") if frac.isdigit() else 0.0)


class _FtpStream(RemoteStream):
    def __init__(self, fs: FtpFileSystem, stream: Any) -> None:
        self._fs = fs
        self._stream = stream

    async def read(self, size: int) -> bytes:
        data: bytes = await self._stream.read(size)
        return data

    async def finish(self) -> None:
        await self._stream.finish()  # raises on 426 "transfer aborted" and friends

    async def abort(self) -> None:
        # The server still owes a reply for the cut transfer; a fresh connection is simpler than ABOR.
        self._stream.close()
        await self._fs.reset()


class FtpFileSystem(RemoteFileSystem):
    def __init__(self, source: FtpSource) -> None:
        scheme, host, port, base = split_location(source.location, SCHEMES)
        super().__init__(source, base, f"{scheme}://{host}:{port}/{base.lstrip('/')}")
        self.source = source
        self.host = host
        self.port = port
        self._client: aioftp.Client | None = None

    @property
    def client(self) -> aioftp.Client:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client

    async def _connect(self) -> None:
        client = aioftp.Client(
            socket_timeout=self.source.timeout,
            connection_timeout=self.source.timeout,
            path_timeout=self.source.timeout,
        )
        try:
            await client.connect(self.host, self.port)
            await self._login(client)
        except BaseException:
            client.close()
            raise
        self._client = client

    async def _login(self, client: aioftp.Client) -> None:
        opts = self.source
        if opts.use_tls:
            try:
                context = ssl.create_default_context(cafile=opts.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConnectorError(f"cannot load ca_file {opts.ca_file}: {exc}", where=self.label) from None
            try:
                await client.upgrade_to_tls(context)
            except ssl.SSLCertVerificationError as exc:
                raise ConnectorError(
                    f"the server's TLS certificate is not trusted ({exc.verify_message}); set ca_file",
                    where=self.label,
                ) from None
            except aioftp.StatusCodeError as exc:
                raise ConnectorError(f"the server refused TLS (AUTH TLS): {exc}", where=self.label) from None
        auth = opts.auth
        if isinstance(auth, BasicAuth):
            user, password = auth.username, auth.password.get_secret_value()
        else:
            user, password = "anonymous", "anonymous@"
        try:
            await client.login(user, password)
        except aioftp.StatusCodeError as exc:
            if _code(exc).startswith("5"):
                raise ConnectorError(
                    f"login as {user!r} refused ({_code(exc)}): wrong user name or password", where=self.label
                ) from None
            raise

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _transient(self, exc: BaseException) -> bool:
        if isinstance(exc, aioftp.StatusCodeError):
            return _code(exc).startswith("4")
        return isinstance(exc, (OSError, asyncio.IncompleteReadError, EOFError, TimeoutError))

    def _missing(self, exc: BaseException) -> bool:
        if _code(exc) != "550":
            return False
        text = " ".join(str(i) for i in getattr(exc, "info", ()) or ()).lower() or str(exc).lower()
        return any(t in text for t in _MISSING_TEXT)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, aioftp.StatusCodeError):
            info = " ".join(str(i).strip() for i in exc.info) if exc.info else ""
            return f"server replied {_code(exc)} {info}".strip()
        return super()._describe(exc)

    async def _listdir(self, path: str) -> list[DirEntry]:
        out = []
        for p, info in await self.client.list(path):
            kind = info.get("type")
            if kind not in ("file", "dir"):
                continue
            out.append(DirEntry(p.name, kind == "dir", int(info.get("size") or 0), _mtime(dict(info))))
        return out

    async def _stat(self, path: str) -> FileInfo | None:
        try:
            info = await self.client.stat(path)
        except aioftp.StatusCodeError as exc:
            if _code(exc) == "550":
                return None
            raise
        return FileInfo(path, int(info.get("size") or 0), _mtime(dict(info)))

    async def _open_at(self, path: str, offset: int) -> RemoteStream:
        stream = await self.client.download_stream(path, offset=offset)
        return _FtpStream(self, stream)

    async def _rename(self, src: str, dst: str) -> None:
        await self.client.rename(src, dst)

    async def _remove(self, path: str) -> None:
        await self.client.remove_file(path)

    async def _makedirs(self, path: str) -> None:
        await self.client.make_directory(path, parents=True)
