"""``openconnector serve`` as a real process: SIGTERM lets runs finish up to the timeout, marks the
rest interrupted (so the next run starts cleanly); logs are JSON lines with the run id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openconnector import jsonutil
from openconnector.auth import TokenStore
from openconnector.registers import RunLog, Store
from tests.triggers.service import write_project

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
registers:
  crm: {schemas: {person: person.json}}
sources:
  mem: {type: gated}
pipelines:
  slow:
    source: mem
    read: {dataset: "n:30", gate_file: GATE}
    target: crm/person
settings:
  database_url: DB
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    def __init__(self, tmp_path: Path, store_url: str, timeout: float) -> None:
        self.gate = tmp_path / "gate"
        config = CONFIG.replace("GATE", str(self.gate)).replace("DB", store_url)
        path = write_project(tmp_path, config)
        self.store = Store(store_url)
        self.token = TokenStore(self.store.engine).create("t", "operator").token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr = tmp_path / "stderr.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "tests.triggers.serve_gated", "serve", "-c", str(path)]
        cmd += ["--port", str(self.port), "--shutdown-timeout", str(timeout), "--no-access-log"]
        self.proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=self.stderr.open("wb"))
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.stderr.read_text()
            assert time.monotonic() < deadline, self.stderr.read_text()
            time.sleep(0.05)

    def start_run(self) -> str:
        r = httpx.post(
            f"{self.url}/api/pipelines/slow/run", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 10
        while not Path(str(self.gate) + ".entered").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        return str(r.json()["id"])

    def logs(self) -> list[dict[str, Any]]:
        return [jsonutil.loads(line) for line in self.stderr.read_text().splitlines() if line.startswith("{")]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.store.dispose()


@pytest.fixture
def make(tmp_path: Path, store_url: str):  # type: ignore[no-untyped-def]
    procs: list[Proc] = []

    def start(timeout: float) -> Proc:
        procs.append(Proc(tmp_path, store_url, timeout))
        return procs[-1]

    yield start
    for p in procs:
        p.close()


def test_sigterm_interrupts_a_run_that_outlives_the_timeout(make) -> None:  # type: ignore[no-untyped-def]
    proc = make(timeout=1)
    run_id = proc.start_run()
    started = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
    assert time.monotonic() - started < 15
    runlog = RunLog(proc.store.engine)
    run = runlog.get(run_id)
    assert run["status"] == "failed" and "interrupted" in run["errors"][0]["message"]
    assert runlog.running("slow") is None  # the lock is free: the next run starts cleanly
    interrupted = [line for line in proc.logs() if "interrupted" in line["message"]]
    assert interrupted and interrupted[0]["run_id"] == run_id and interrupted[0]["pipeline"] == "slow"


def test_sigterm_lets_a_run_finish_within_the_timeout(make) -> None:  # type: ignore[no-untyped-def]
    proc = make(timeout=20)
    run_id = proc.start_run()
    proc.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while True:  # it stops accepting work at once ...
        try:
            httpx.get(f"{proc.url}/healthz", timeout=1)
        except httpx.TransportError:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert proc.proc.poll() is None  # ... but waits for the run
    proc.gate.write_text("go")
    assert proc.proc.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
    run = RunLog(proc.store.engine).get(run_id)
    assert run["status"] == "ok" and run["counts"]["created"] == 30
    logs = proc.logs()
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in logs)
    finished = [line for line in logs if line["message"].startswith("run finished")]
    assert finished and finished[0]["run_id"] == run_id and finished[0]["counts"]["created"] == 30
