"""FTP and explicit FTPS drop folders against a real pyftpdlib server."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.ftp import FtpConnector
from tests.connectors.files.helpers import csv_text, drain, make_read
from tests.connectors.ftp.conftest import PASSWORD, Drop, FtpServer


def connect(server: FtpServer, **over: Any) -> FtpConnector:
    cls = get_connector("ftp")
    connector = cls("ftp", cls.Source.model_validate(server.source(**over)))
    assert isinstance(connector, FtpConnector)
    return connector


async def test_read_and_move(ftp_server: FtpServer, ftp_root: Path) -> None:
    (ftp_root / "in" / "2024").mkdir(parents=True)
    (ftp_root / "in" / "2024" / "a.csv").write_text(csv_text(3))
    (ftp_root / "in" / "b.json").write_text(json.dumps({"items": [{"id": "j1"}]}))
    async with connect(ftp_server) as ftp:
        out, ctx = await drain(ftp, make_read(ftp, path="in/**/*", records="items", batch_size=2))
    assert sorted(out.ids()) == ["1", "2", "3", "j1"]
    assert ctx.complete and ctx.warnings == []
    assert {m["file"] for m in out.meta} == {"in/2024/a.csv", "in/b.json"}
    assert (ftp_root / "processed" / "in" / "2024" / "a.csv").exists()
    assert (ftp_root / "processed" / "in" / "b.json").exists()
    assert not (ftp_root / "in" / "b.json").exists()


async def test_folder_in_the_location_delete_and_keep(ftp_server: FtpServer, ftp_root: Path) -> None:
    (ftp_root / "out").mkdir()
    (ftp_root / "out" / "a.csv").write_text(csv_text(2))
    async with connect(ftp_server, location=f"ftp://127.0.0.1:{ftp_server.port}/out") as ftp:
        read = make_read(ftp, path="*.csv", after="keep")
        out, ctx = await drain(ftp, read)
        assert out.ids() == ["1", "2"]
        assert ctx.memory["a.csv"]["mtime"] > 0  # from MLSD
        out, ctx = await drain(ftp, read, ReadContext(pipeline="t", memory=ctx.memory))
        assert out.records == [] and not ctx.complete
        out, _ = await drain(ftp, make_read(ftp, path="*.csv", after="delete"))
        assert out.ids() == ["1", "2"]
    assert list((ftp_root / "out").iterdir()) == []


async def test_explicit_ftps(ftps_server: FtpServer, ftp_root: Path, tls_files: tuple[str, str, str]) -> None:
    (ftp_root / "a.ndjson").write_text('{"id": 1}\n{"id": 2}\n')
    async with connect(ftps_server) as ftp:
        out, _ = await drain(ftp, make_read(ftp, path="*.ndjson"))
    assert out.ids() == [1, 2]
    assert (ftp_root / "processed" / "a.ndjson").exists()
    # a server certificate nobody vouches for is refused, not trusted silently
    async with connect(ftps_server, ca_file=tls_files[2]) as ftp:
        with pytest.raises(ConnectorError, match="TLS certificate is not trusted"):
            await drain(ftp, make_read(ftp, path="*"))
    # plain FTP against a server that requires TLS: refused, with the server's reason
    async with connect(ftps_server, tls=False) as ftp:
        with pytest.raises(ConnectorError) as err:
            await drain(ftp, make_read(ftp, path="*"))
    assert "SSL/TLS required" in str(err.value) or "refused" in str(err.value)


async def test_wrong_credentials(ftp_server: FtpServer) -> None:
    bad = {"type": "basic", "username": "alice", "password": "wrong-pw"}
    async with connect(ftp_server, auth=bad) as ftp:
        with pytest.raises(ConnectorError) as err:
            await drain(ftp, make_read(ftp, path="*.csv"))
    message = str(err.value)
    assert "login as 'alice' refused (530)" in message
    assert "wrong-pw" not in message and PASSWORD not in message
    assert "wrong-pw" not in repr(ftp.source)


@pytest.mark.parametrize("mode", ["error", "short"])
async def test_a_dropped_download_resumes_and_yields_each_record_once(
    ftp_server: FtpServer, ftp_root: Path, mode: str
) -> None:
    (ftp_root / "big.csv").write_text(csv_text(20_000))  # ~430 kB
    ftp_server.drops["big.csv"] = Drop(after=150_000, mode=mode)
    async with connect(ftp_server) as ftp:
        out, ctx = await drain(ftp, make_read(ftp, path="*.csv", batch_size=5000))
    assert out.ids() == [str(i) for i in range(1, 20_001)]  # every record, once, in order
    assert out.errors == [] and ctx.complete
    assert ftp_server.retrs.count("big.csv") == 2  # cut once, resumed once
    assert (ftp_root / "processed" / "big.csv").exists()


async def test_a_download_that_keeps_breaking_fails_the_run_and_keeps_the_file(
    ftp_server: FtpServer, ftp_root: Path
) -> None:
    (ftp_root / "a.csv").write_text(csv_text(5000))

    class Always(dict[str, Drop]):
        def pop(self, key: str, default: Any = None) -> Drop:  # type: ignore[override]
            return Drop(after=0)  # not a byte of progress, ever

    ftp_server.drops = Always()
    async with connect(ftp_server, retries=2) as ftp:
        with pytest.raises(ConnectorError, match="failed after 3 attempts"):
            await drain(ftp, make_read(ftp, path="*.csv"))
    assert (ftp_root / "a.csv").exists() and not (ftp_root / "failed").exists()


async def test_a_server_that_is_down(ftp_server: FtpServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with connect(ftp_server, location=f"ftp://127.0.0.1:{port}", retries=1) as ftp:
        with pytest.raises(ConnectorError, match="failed after 2 attempts"):
            await drain(ftp, make_read(ftp, path="*.csv"))


async def test_xlsx_and_a_file_disappearing(ftp_server: FtpServer, ftp_root: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "name"])
    ws.append([1, "Ann"])
    wb.save(ftp_root / "a.xlsx")
    (ftp_root / "b.xlsx").write_bytes((ftp_root / "a.xlsx").read_bytes())
    ctx = ReadContext(pipeline="t")
    records = []
    async with connect(ftp_server) as ftp:
        async for batch in ftp.read(make_read(ftp, path="*.xlsx"), ctx):
            records += batch.records
            (ftp_root / "b.xlsx").unlink(missing_ok=True)
            if batch.ack:
                await batch.ack()
    assert records == [{"id": 1, "name": "Ann"}]
    assert any("b.xlsx disappeared between listing and reading" in w for w in ctx.warnings)
    assert not ctx.complete


def test_location_and_auth_validation() -> None:
    cls = get_connector("ftp")
    with pytest.raises(ValueError, match="must start with ftp:// or ftps://"):
        cls.Source.model_validate({"location": "http://x"})
    with pytest.raises(ValueError, match="must not hold a user or password"):
        cls.Source.model_validate({"location": "ftp://u:p@x/"})
    with pytest.raises(ValueError, match="auth type basic"):
        cls.Source.model_validate({"location": "ftp://x", "auth": {"type": "bearer", "token": "t"}})
    assert cls.Source.model_validate({"location": "ftps://x"}).use_tls  # type: ignore[attr-defined]
