"""Instructions per record: the core benchmark's REST job counted by callgrind, for changes too
small for wall time.

On this VM a run's wall time moves by 10-30% from minute to minute, so alternating pairs
(``ab.py``) only resolve changes of ~10% and more. Valgrind's callgrind counts the instructions
each process executes instead: with ``PYTHONHASHSEED=0`` the same run counts the same within
~0.5% (thread timing still varies a little), whatever else the machine does. A run is counted at
two sizes and the difference divided by the records between them, so start-up (imports, ~3.3
billion instructions) and every other cost a run pays once drop out. Counts
are CPU work, not time: they say nothing of waits, the interpreter lock or the second core, and
under valgrind a run is ~50x slower. Runs use ``OPENCONNECTOR_WRITER=process`` (a variant may
set another): the writer process takes every batch after the first that writes, so that how soon
it is ready under valgrind does not move work between the processes counted.

    .venv/bin/python bench/instructions.py --scenario b ""
    .venv/bin/python bench/instructions.py --scenario c PYTHONPATH=/tmp/old/src ""

Each variant (environment assignments, as in ``ab.py``) builds its own store for (b) and (c)
with a plain run first, so a change to what is stored (a hash) is compared fairly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ab import variant
from bench_rest import demo_source, set_revision, write_project
from common import PY

CMD = [PY, "-m", "openconnector", "run", "people", "--json"]


def _process_name(cmd_line: str) -> str:
    """What a callgrind output's ``cmd:`` line ran: the engine, a helper process of ours, or other."""
    if " -m openconnector run " in cmd_line:
        return "engine"
    if " -m openconnector." in cmd_line:  # the writer or a reader process
        return cmd_line.split(" -m openconnector.", 1)[1].split()[0]
    return "other"


def counted(work: Path, env: dict[str, str]) -> tuple[dict[str, int], dict[str, Any]]:
    """Run the job under callgrind: instructions per process (named by its command) and the run."""
    with tempfile.TemporaryDirectory(prefix="oc-cg-") as out:
        valgrind = ["valgrind", "--tool=callgrind", "--trace-children=yes"]
        valgrind.append(f"--callgrind-out-file={out}/cg.%p")
        proc = subprocess.run(
            [*valgrind, *CMD],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"the run under valgrind failed: {proc.stderr[-2000:]}")
        counts: dict[str, int] = {}
        for path in Path(out).iterdir():
            cmd, total = "other", 0
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("cmd:"):
                    cmd = _process_name(line)
                elif line.startswith("summary:"):
                    total = int(line.split()[1])
                    break
            counts[cmd] = counts.get(cmd, 0) + total
    return counts, json.loads(proc.stdout)


def per_record(scenario: str, records: int, env: dict[str, str]) -> dict[str, float]:
    """Instructions per record read, by process, between a run of ``records // 5`` and one of
    ``records``."""
    # process: the writer takes every batch after the first that writes, waited for, so that how
    # fast it starts under valgrind does not move work between the engine and the writer
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENCONNECTOR_WRITER": "process", **env}
    sizes = (records // 5, records)
    found: list[dict[str, int]] = []
    for n in sizes:
        with demo_source(n) as url, tempfile.TemporaryDirectory(prefix="oc-instr-") as tmp:
            work = Path(tmp)
            write_project(work, url)
            if scenario in "bc":
                subprocess.run(CMD, cwd=work, env=env, capture_output=True, check=True)
            if scenario == "c":
                set_revision(url, n, 1)
            counts, run = counted(work, env)
            expected = {"a": "created", "b": "unchanged", "c": "updated"}[scenario]
            assert run["status"] == "ok" and run["counts"][expected] > 0, run
            found.append(counts)
    small, large = found
    names = sorted(set(small) | set(large))
    out = {name: (large.get(name, 0) - small.get(name, 0)) / (sizes[1] - sizes[0]) for name in names}
    out = {name: value for name, value in out.items() if name != "other" or value}
    out["all"] = sum(out.values())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", help="environment assignments per variant ('' is the default)")
    ap.add_argument("--scenario", choices=("a", "b", "c"), default="b", help="as in bench_rest.py")
    ap.add_argument("--records", type=int, default=20_000, help="the larger run (the smaller: a fifth)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt install valgrind)")
    results = {}
    for spec in args.variants:
        results[spec or "(default)"] = result = per_record(args.scenario, args.records, variant(spec))
        shown = ", ".join(f"{name} {value:,.0f}" for name, value in result.items())
        print(f"{spec or '(default)'}: instructions per record: {shown}", flush=True)
    if len(results) == 2:
        (a, first), (b, second) = results.items()
        print(f"{b} against {a}: {(second['all'] / first['all'] - 1) * 100:+.1f}% instructions per record")


if __name__ == "__main__":
    main()
