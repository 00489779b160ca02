"""A real pyftpdlib server (plain FTP, or explicit FTPS with a trustme certificate) on 127.0.0.1,
in a thread, serving a temporary folder. ``drops`` makes it cut the next download of a file after
some bytes, the way a flaky server or network does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer

USER, PASSWORD = "alice", "s3cret-pw"


@dataclass
class Drop:
    after: int  # bytes sent before the cut
    mode: str = "error"  # "error": the server aborts the transfer (426); "short": it ends it early (226)


@dataclass
class FtpServer:
    root: Path
    port: int
    ca_file: str | None
    drops: dict[str, Drop] = field(default_factory=dict)
    retrs: list[str] = field(default_factory=list)

    def source(self, **over: Any) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "type": "ftp",
            "location": f"ftp://127.0.0.1:{self.port}/",
            "auth": {"type": "basic", "username": USER, "password": PASSWORD},
            "retry_delay": 0.01,
            "timeout": 5,
        }
        if self.ca_file:
            cfg.update(tls=True, ca_file=self.ca_file)
        cfg.update(over)
        return cfg


class _CutFile:
    """A file whose reads stop (with an error, or a quiet end) after ``after`` bytes."""

    def __init__(self, fh: Any, drop: Drop) -> None:
        self._fh = fh
        self._drop = drop
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        if self._sent >= self._drop.after:
            if self._drop.mode == "error":
                raise OSError("simulated connection drop")
            return b""
        data: bytes = self._fh.read(min(size, self._drop.after - self._sent))
        self._sent += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def _make_server(root: Path, tls: CA | None) -> Iterator[FtpServer]:
    state = FtpServer(root, 0, None)

    class FlakyFS(AbstractedFS):
        def open(self, filename: str, mode: str) -> Any:
            fh = super().open(filename, mode)
            name = Path(filename).name
            if "r" in mode:
                state.retrs.append(name)
                drop = state.drops.pop(name, None)
                if drop is not None:
                    return _CutFile(fh, drop)
            return fh

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    base: type[FTPHandler] = TLS_FTPHandler if tls else FTPHandler
    attrs: dict[str, Any] = {
        "authorizer": authorizer,
        "abstracted_fs": FlakyFS,
        "use_sendfile": False,
        "auth_failed_timeout": 0.05,  # pyftpdlib waits 3 s after a failed login by default
    }
    if tls is not None:
        ca, certfile = tls
        attrs.update(certfile=certfile, tls_control_required=True, tls_data_required=True, ssl_context=None)
        state.ca_file = ca
    handler = type("Handler", (base,), attrs)
    server = FTPServer(("127.0.0.1", 0), handler)
    state.port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05, "handle_exit": False})
    thread.start()
    try:
        yield state
    finally:
        server.close_all()
        thread.join(5)


CA = tuple[str, str]


@pytest.fixture
def ftp_root(tmp_path: Path) -> Path:
    root = tmp_path / "ftp"
    root.mkdir()
    return root


@pytest.fixture
def ftp_server(ftp_root: Path) -> Iterator[FtpServer]:
    yield from _make_server(ftp_root, None)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(trusted CA, server cert+key, a CA nobody uses) as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    trustme.CA().cert_pem.write_to_path(str(folder / "other-ca.pem"))
    return str(folder / "ca.pem"), str(folder / "server.pem"), str(folder / "other-ca.pem")


@pytest.fixture
def ftps_server(ftp_root: Path, tls_files: tuple[str, str, str]) -> Iterator[FtpServer]:
    yield from _make_server(ftp_root, (tls_files[0], tls_files[1]))
