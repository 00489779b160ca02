"""Shared benchmark plumbing: child processes measured with os.wait4 (wall time + peak RSS)."""

from __future__ import annotations

import json
import mmap
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    stdout: str
    returncode: int
    #: CPU seconds (user + system) of the process and of the children it waited for (a reader or
    #: writer process): beside ``seconds``, how much of the two cores a run kept busy
    cpu_s: float = 0.0
    #: the largest resident memory of the process and its children together (a reader or writer
    #: process), sampled every 0.2 s: ``peak_mb`` is only the larger of the two
    tree_mb: float = 0.0


def measure(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd`` and return its wall time and peak resident memory (its own, via wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=err, text=True
        )
        tree = _TreeSampler(proc.pid)
        tree.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        tree.stop.set()
        tree.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode not in (0, 1):
        sys.stderr.write(stderr[-4000:])
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, usage.ru_maxrss / 1024, stdout, proc.returncode, cpu, tree.peak_mb)


class _TreeSampler(threading.Thread):
    """The summed resident memory of a process and its descendants, at its largest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self.stop.wait(0.2):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat") as f:
                            fields = f.read().rsplit(") ", 1)[1].split()
                    except (OSError, IndexError):
                        continue
                    parents[int(entry)], rss[int(entry)] = int(fields[1]), int(fields[21])
            tree, grew = {self.pid}, True
            while grew:
                found = {pid for pid, ppid in parents.items() if ppid in tree} - tree
                grew = bool(found)
                tree |= found
            self.peak_mb = max(self.peak_mb, sum(rss.get(p, 0) for p in tree) * page / 2**20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def machine() -> dict[str, float]:
    """How fast this VM is right now, in two figures that moved independently here: seconds for
    10^7 Python additions, and seconds to touch 512 MB of fresh memory (page faults: on one slow
    day these cost ~2.9 µs each). Best of 3 each. Every result carries them, so that runs from
    different hours or days can be put side by side fairly."""
    loop = touch = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        loop = min(loop, time.perf_counter() - start)
        start = time.perf_counter()
        with mmap.mmap(-1, 512 << 20) as m:
            for off in range(0, 512 << 20, 4096):
                m[off] = 1
        touch = min(touch, time.perf_counter() - start)
    return {"loop_s": round(loop, 3), "touch_s": round(touch, 3)}


def report(rows: list[dict[str, object]], path: Path | None = None) -> None:
    speed = machine()
    for r in rows:
        r["machine"] = speed
    width = max(len(str(r["scenario"])) for r in rows)
    for r in rows:
        print(
            f"{r['scenario']:<{width}}  {r['records']:>9} records  {r['seconds']:>7.2f} s  "
            f"{r['records_per_s']:>9.0f} rec/s  peak {r['peak_mb']:>6.0f} MB  {r.get('note', '')}"
        )
    print(
        f"machine: 10^7 Python additions {speed['loop_s']:.2f} s, "
        f"512 MB of fresh memory touched {speed['touch_s']:.2f} s"
    )
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2))
