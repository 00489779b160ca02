"""A real asyncssh SFTP server on 127.0.0.1 (in the test's event loop), chrooted to a temporary
folder, with password and public-key login. ``drops`` makes it cut the connection during the next
read of a file past a byte offset, the way a flaky network does."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

USER, PASSWORD = "alice", "s3cret-pw"


@dataclass
class SftpServer:
    root: Path
    port: int
    host_key: asyncssh.SSHKey
    client_key_file: str
    drops: dict[str, int] = field(default_factory=dict)  # file name → cut the connection past this offset
    opens: list[str] = field(default_factory=list)
    logins: int = 0

    @property
    def fingerprint(self) -> str:
        return str(self.host_key.get_fingerprint("sha256"))

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key.export_public_key().decode().strip()}"

    def source(self, **over: Any) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "type": "sftp",
            "location": f"sftp://127.0.0.1:{self.port}/",
            "auth": {"type": "basic", "username": USER, "password": PASSWORD},
            "host_key_fingerprint": self.fingerprint,
            "retry_delay": 0.01,
            "timeout": 5,
        }
        cfg.update(over)
        return cfg


@pytest.fixture
def sftp_root(tmp_path: Path) -> Path:
    root = tmp_path / "sftp"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[asyncssh.SSHKey, str]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path_factory.mktemp("keys") / "id_ed25519"
    key.write_private_key(
        str(path), passphrase="key-pass", rounds=4, ignore_few_rounds=True
    )  # fast KDF: a test
    return key, str(path)


@pytest.fixture
async def sftp_server(sftp_root: Path, client_key: tuple[asyncssh.SSHKey, str]) -> AsyncIterator[SftpServer]:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    state = SftpServer(sftp_root, 0, host_key, client_key[1])

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            ok = username == USER and password == PASSWORD
            state.logins += ok
            return ok

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
            ok = username == USER and key.public_data == client_key[0].public_data
            state.logins += ok
            return ok

    class FlakySFTP(asyncssh.SFTPServer):
        def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
            super().__init__(chan, chroot=os.fsencode(str(sftp_root)))

        def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
            state.opens.append(os.path.basename(os.fsdecode(path)))
            return super().open(path, pflags, attrs)

        def read(self, file_obj: object, offset: int, size: int) -> bytes:
            name = os.path.basename(os.fsdecode(getattr(file_obj, "name", "")))
            cut = state.drops.get(name)
            if cut is not None and offset + size > cut:
                del state.drops[name]
                self.connection.abort()
                return b""
            return super().read(file_obj, offset, size)  # type: ignore[no-any-return]

    server = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        server_factory=Server,
        sftp_factory=FlakySFTP,
        allow_scp=False,
    )
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()
