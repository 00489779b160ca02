"""``openconnector serve --demo``: the quickstart served, run once, and an admin token printed."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_serve_demo_serves_the_quickstart_populated(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "openconnector", "serve", "--demo", "--port", str(port)]
    cmd += ["-c", str(ROOT / "examples" / "quickstart" / "openconnector.yaml"), "--no-scheduler"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=log.open("wb"), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        token = None
        while token is None:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            found = re.search(r"admin token \(shown once\): (oc_\S+)", log.read_text())
            token = found.group(1) if found else None
            time.sleep(0.05)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        )
        while True:
            try:
                runs = client.get("/api/runs").json()
            except httpx.TransportError:
                runs = {"results": []}
            if runs["results"] and runs["results"][0]["status"] != "running":
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert runs["results"][0]["status"] == "ok", runs
        assert (
            client.get("/api/objects/crm/person").json()["total"]
            == runs["results"][0]["counts"]["created"]
            > 0
        )
        assert (tmp_path / ".openconnector").is_dir()  # state in the working directory
    finally:
        proc.terminate()
        proc.wait(timeout=30)
