"""SFTP drop folders against a real asyncssh server: logins, host-key checking, resumed downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import openpyxl
import pytest

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.sftp import SftpConnector
from tests.connectors.files.helpers import csv_text, drain, make_read
from tests.connectors.sftp.conftest import PASSWORD, USER, SftpServer


def connect(server: SftpServer, **over: Any) -> SftpConnector:
    cls = get_connector("sftp")
    connector = cls("sftp", cls.Source.model_validate(server.source(**over)))
    assert isinstance(connector, SftpConnector)
    return connector


async def test_password_login_pinned_fingerprint_read_and_move(
    sftp_server: SftpServer, sftp_root: Path
) -> None:
    (sftp_root / "in").mkdir()
    (sftp_root / "in" / "a.csv").write_text(csv_text(5))
    (sftp_root / "in" / "b.xml").write_text("<r><o><id>x</id></o></r>")
    async with connect(sftp_server, location=f"sftp://127.0.0.1:{sftp_server.port}/in") as sftp:
        out, ctx = await drain(sftp, make_read(sftp, path="*", batch_size=2))
    assert sorted(out.ids()) == ["1", "2", "3", "4", "5", "x"]
    assert ctx.complete and ctx.warnings == []
    assert sorted(p.name for p in (sftp_root / "in" / "processed").iterdir()) == ["a.csv", "b.xml"]


async def test_known_hosts_lines_and_file(sftp_server: SftpServer, sftp_root: Path, tmp_path: Path) -> None:
    (sftp_root / "a.ndjson").write_text('{"id": 1}\n')
    line = sftp_server.known_hosts_line
    async with connect(sftp_server, host_key_fingerprint=None, known_hosts=line + "\n") as sftp:
        out, _ = await drain(sftp, make_read(sftp, path="*.ndjson", after="keep"))
    assert out.ids() == [1]
    kh = tmp_path / "known_hosts"
    kh.write_text(line + "\n")
    async with connect(sftp_server, host_key_fingerprint=None, known_hosts=str(kh)) as sftp:
        out, _ = await drain(sftp, make_read(sftp, path="*.ndjson", after="keep"))
    assert out.ids() == [1]
    async with connect(sftp_server, host_key_fingerprint=None, known_hosts=str(tmp_path / "nope")) as sftp:
        with pytest.raises(ConnectorError, match=r"known_hosts file .*nope does not exist"):
            await drain(sftp, make_read(sftp, path="*"))


@pytest.mark.parametrize("trust", ["other-key-in-known-hosts", "other-fingerprint"])
async def test_an_unknown_host_key_is_refused_before_logging_in(sftp_server: SftpServer, trust: str) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    if trust == "other-key-in-known-hosts":
        over = {
            "host_key_fingerprint": None,
            "known_hosts": f"[127.0.0.1]:{sftp_server.port} {other.export_public_key().decode().strip()}",
        }
    else:
        over = {"host_key_fingerprint": other.get_fingerprint("sha256")}
    async with connect(sftp_server, **over) as sftp:
        with pytest.raises(ConnectorError) as err:
            await drain(sftp, make_read(sftp, path="*"))
    assert f"the server's host key ({sftp_server.fingerprint}) is not trusted" in str(err.value)
    assert sftp_server.logins == 0  # no password was sent to the unknown host


async def test_key_login_with_passphrase(sftp_server: SftpServer, sftp_root: Path) -> None:
    (sftp_root / "a.csv").write_text(csv_text(2))
    auth = {
        "type": "ssh_key",
        "username": USER,
        "private_key": sftp_server.client_key_file,
        "passphrase": "key-pass",
    }
    async with connect(sftp_server, auth=auth) as sftp:
        out, _ = await drain(sftp, make_read(sftp, path="*.csv"))
    assert out.ids() == ["1", "2"]
    async with connect(sftp_server, auth={**auth, "passphrase": "nope"}) as sftp:
        with pytest.raises(ConnectorError, match="cannot load the private key") as err:
            await drain(sftp, make_read(sftp, path="*.csv"))
    assert "key-pass" not in str(err.value) and "nope" not in str(err.value)


async def test_wrong_password(sftp_server: SftpServer) -> None:
    auth = {"type": "basic", "username": USER, "password": "wrong-pw"}
    async with connect(sftp_server, auth=auth) as sftp:
        with pytest.raises(ConnectorError) as err:
            await drain(sftp, make_read(sftp, path="*"))
    assert "login as 'alice' refused: wrong password or key" in str(err.value)
    assert "wrong-pw" not in str(err.value) and PASSWORD not in str(err.value)


async def test_a_dropped_connection_resumes_and_yields_each_record_once(
    sftp_server: SftpServer, sftp_root: Path
) -> None:
    (sftp_root / "big.csv").write_text(csv_text(30_000))  # ~650 kB
    sftp_server.drops["big.csv"] = 300_000
    async with connect(sftp_server) as sftp:
        out, ctx = await drain(sftp, make_read(sftp, path="*.csv", batch_size=4000))
    assert out.ids() == [str(i) for i in range(1, 30_001)]
    assert ctx.complete and out.errors == []
    assert sftp_server.opens.count("big.csv") == 2
    assert sftp_server.logins == 2  # reconnected once
    assert (sftp_root / "processed" / "big.csv").exists()


async def test_xlsx_keep_and_a_file_disappearing(sftp_server: SftpServer, sftp_root: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "when"])
    ws.append([1, 2.5])
    wb.save(sftp_root / "a.xlsx")
    (sftp_root / "b.csv").write_text(csv_text(1))
    ctx = ReadContext(pipeline="t")
    records = []
    async with connect(sftp_server) as sftp:
        read = make_read(sftp, path="*", after="keep")
        async for batch in sftp.read(read, ctx):
            records += batch.records
            (sftp_root / "b.csv").unlink(missing_ok=True)
            if batch.ack:
                await batch.ack()
        assert records == [{"id": 1, "when": 2.5}]
        assert any("b.csv disappeared between listing and reading" in w for w in ctx.warnings)
        assert set(ctx.memory) == {"a.xlsx"}
        out, ctx = await drain(sftp, read, ReadContext(pipeline="t", memory=ctx.memory))
        assert out.records == []
    assert (sftp_root / "a.xlsx").exists()


def test_config_validation() -> None:
    cls = get_connector("sftp")
    with pytest.raises(ValueError, match="auth type basic"):
        cls.Source.model_validate({"location": "sftp://x"})
    with pytest.raises(ValueError, match="is not a SHA256 fingerprint"):
        cls.Source.model_validate(
            {
                "location": "sftp://x",
                "auth": {"type": "basic", "username": "u"},
                "host_key_fingerprint": "MD5:aa",
            }
        )
    src = cls.Source.model_validate(
        {"location": "sftp://x:2222/~/in", "auth": {"type": "basic", "username": "u", "password": "pw-123"}}
    )
    assert "pw-123" not in repr(src)
