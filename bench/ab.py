"""Alternating pairs: the core benchmark's REST job under two variants, run in turns.

On this VM one run's time moves by 10-30% from minute to minute, so a change is only measured
against the old code or setting run in the same minutes. A variant is a list of environment
assignments, e.g. ``OPENCONNECTOR_WRITER=thread``, or ``PYTHONPATH=/tmp/old/src`` for a checkout
of an older commit (``git worktree add /tmp/old <rev>``). Prints every pair and the medians.

    .venv/bin/python bench/ab.py --scenario a --pairs 5 OPENCONNECTOR_WRITER=thread OPENCONNECTOR_WRITER=auto
    .venv/bin/python bench/ab.py --scenario c --pairs 4 PYTHONPATH=/tmp/old/src ""
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from bench_rest import demo_source, set_revision, write_project
from common import PY, measure


def variant(spec: str) -> dict[str, str]:
    """``"A=1 B=2"`` (space- or comma-separated) as an environment; ``""`` is the default one."""
    pairs = [p for p in spec.replace(",", " ").split() if p]
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise SystemExit(f"a variant is NAME=VALUE assignments, not {bad[0]!r}")
    return dict(p.split("=", 1) for p in pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the first variant (environment assignments)")
    ap.add_argument("b", help="the second variant")
    ap.add_argument("--scenario", choices=("a", "b", "c"), default="a", help="as in bench_rest.py")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--records", type=int, default=200_000)
    args = ap.parse_args()
    variants = {args.a or "(default)": variant(args.a), args.b or "(default) ": variant(args.b)}
    cmd = [PY, "-m", "openconnector", "run", "people", "--json"]
    times: dict[str, list[float]] = {name: [] for name in variants}
    with demo_source(args.records) as url, tempfile.TemporaryDirectory(prefix="oc-ab-") as tmp:
        work, base = Path(tmp) / "work", Path(tmp) / "base"
        work.mkdir()
        write_project(work, url)
        if args.scenario in "bc":  # the register after a first load, copied back before every run
            measure(cmd, cwd=work)
            shutil.copytree(work / ".openconnector", base)
        if args.scenario == "c":
            set_revision(url, args.records, 1)
        for n in range(1, args.pairs + 1):
            line = []
            for name, env in variants.items():
                shutil.rmtree(work / ".openconnector", ignore_errors=True)
                if args.scenario in "bc":
                    shutil.copytree(base, work / ".openconnector")
                m = measure(cmd, cwd=work, env=env)
                result = json.loads(m.stdout)
                assert result["status"] == "ok", result
                times[name].append(result["duration_s"])
                line.append(
                    f"{name}: {result['duration_s']:.2f} s (wall {m.seconds:.2f}, cpu {m.cpu_s:.1f} s)"
                )
            print(f"pair {n}  " + "   ".join(line), flush=True)
    (name_a, first), (name_b, second) = ((name, statistics.median(t)) for name, t in times.items())
    gain = (first / second - 1) * 100  # how much faster the second variant ran
    print(f"medians: {name_a} {first:.2f} s, {name_b} {second:.2f} s (second {gain:+.0f}%)")


if __name__ == "__main__":
    main()
