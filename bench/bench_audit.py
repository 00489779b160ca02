"""Audit trail and replay benchmark (issue 8).

  (a) first load of N person records through the engine with the audit trail, and without it
      (the trail switched off in-process), each on a fresh SQLite store, alternating, best of R;
  (r) the same comparison on the core benchmark (bench_rest.py: the demo REST source in its own
      process, ``openconnector run`` in a fresh process each time), with ``--rest``;
  (b) ``audit verify`` over the resulting chain (entries/s);
  (c) replay of Q quarantined records (a schema that rejects them, then one that accepts them).

The source is an in-process connector so the figures are the engine's and the store's, not a web
server's. Run on an otherwise idle machine:

    .venv/bin/python bench/bench_audit.py --records 200000 --replay 10000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from openconnector.audit import AuditTrail  # noqa: E402
from openconnector.config import load_project  # noqa: E402
from openconnector.connectors import Batch, Connector, ReadBase, ReadContext, register  # noqa: E402
from openconnector.pipelines import run_pipeline  # noqa: E402
from openconnector.registers import Store  # noqa: E402

SCHEMA = {
    "type": "object",
    "required": ["name", "email", "city"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "email": {"type": "string"},
        "city": {"type": "string"},
        "postcode": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "active": {"type": "boolean"},
    },
}

CONFIG = """
registers:
  crm:
    schemas:
      person: person.schema.json
sources:
  gen: {type: bench-generated}
mappings:
  person:
    mapping:
      name: "{{ first_name }} {{ last_name }}"
      email: email
      city: address.city
      postcode: address.postcode
      tags: tags
      active: active
pipelines:
  people:
    source: gen
    read: {dataset: people, batch_size: 1000}
    mapping: person
    target: crm/person
"""


class GeneratedRead(ReadBase):
    dataset: str


@register
class Generated(Connector):
    """Serves pre-built records in batches (as a paged source would)."""

    type = "bench-generated"
    Read = GeneratedRead
    DATA: ClassVar[dict[str, list[dict[str, Any]]]] = {}

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, GeneratedRead)
        records = self.DATA[read.dataset]
        for i in range(0, len(records), read.batch_size):
            yield Batch(records=records[i : i + read.batch_size], where=f"page {i // read.batch_size + 1}")


def people(n: int) -> list[dict[str, Any]]:
    rnd = random.Random(7)
    cities = ["Utrecht", "Zwolle", "Apeldoorn", "Deventer", "Amersfoort"]
    return [
        {
            "id": i,
            "first_name": f"First{i}",
            "last_name": f"Last{i % 977}",
            "email": f"person{i}@example.org",
            "address": {"city": rnd.choice(cities), "postcode": f"{1000 + i % 9000}AB", "street": "Main 1"},
            "tags": ["customer", "newsletter"][: 1 + i % 2],
            "active": bool(i % 3),
            "updated_at": "2026-01-01T00:00:00Z",
        }
        for i in range(n)
    ]


def project_in(folder: Path, schema: dict[str, Any] = SCHEMA) -> Any:
    (folder / "person.schema.json").write_text(json.dumps(schema))
    (folder / "openconnector.yaml").write_text(textwrap.dedent(CONFIG))
    return load_project(folder / "openconnector.yaml")


#: every store of this benchmark lives under here; removed at the end
WORK = ""


def row(scenario: str, records: int, seconds: float, note: str = "") -> dict[str, Any]:
    return {"scenario": scenario, "records": records, "seconds": round(seconds, 3),
            "records_per_s": records / seconds, "note": note}  # fmt: skip


def first_load(n: int, audit: bool) -> tuple[float, Store, Path]:
    folder = Path(tempfile.mkdtemp(dir=WORK))
    os.environ["OPENCONNECTOR_AUDIT_KEY_FILE"] = str(folder / "audit.key")
    os.environ["OPENCONNECTOR_AUDIT_ANCHOR"] = str(folder / "anchor.jsonl")
    project = project_in(folder)
    store = Store(f"sqlite:///{folder / 'store.db'}")
    store.sync_registers({"crm": None}, project.schemas)
    AuditTrail.for_engine(store.engine).enabled = audit
    result = asyncio.run(run_pipeline(project, store, "people"))
    assert result.status == "ok" and result.counts["created"] == n, result.as_dict()
    return float(result.duration_s or 0), store, folder


def main() -> None:
    global WORK
    with tempfile.TemporaryDirectory(prefix="oc-audit-bench-") as work:
        WORK = work
        measure_all()


def measure_all() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--replay", type=int, default=10_000)
    ap.add_argument("--rest", action="store_true", help="also compare on the REST core benchmark")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audit.json")
    args = ap.parse_args()
    n = args.records
    Generated.DATA["people"] = people(n)
    gc.freeze()  # the generated source data is not the pipeline's: keep it out of every GC pass
    times: dict[bool, list[float]] = {True: [], False: []}
    store = None
    for _ in range(args.rounds):
        for audit in (False, True):
            seconds, s, _folder = first_load(n, audit)
            times[audit].append(seconds)
            if audit:
                if store is not None:
                    store.dispose()
                store = s
            else:
                s.dispose()
    off, on = min(times[False]), min(times[True])
    cost = f"audit costs {100 * (on - off) / off:.1f}% (all rounds: on {times[True]}, off {times[False]})"
    rows = [row("(a) first load, audit off", n, off), row("(a) first load, audit on", n, on, cost)]
    assert store is not None
    trail = AuditTrail.for_engine(store.engine)
    started = time.perf_counter()
    verified = trail.verify()
    seconds = time.perf_counter() - started
    assert verified.ok, verified.as_dict()
    rows.append(row("(b) audit verify", verified.checked, seconds))
    if args.replay:
        rows.append(replay_bench(args.replay))
    if args.rest:
        rows.extend(rest_bench(n, args.rounds))
    width = max(len(r["scenario"]) for r in rows)
    for r in rows:
        print(f"{r['scenario']:<{width}}  {r['records']:>9} records  {r['seconds']:>7.2f} s  "
              f"{r['records_per_s']:>9.0f} rec/s  {r.get('note', '')}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))


# `openconnector run` with the trail switched off in that process only (no setting exists for it).
_NO_AUDIT = (
    "import sys; from openconnector.audit import AuditTrail; AuditTrail.enabled = False; "
    "from openconnector.cli import main; sys.argv[0] = 'openconnector'; main()"
)


def rest_bench(n: int, rounds: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_rest import demo_source, write_project
    from common import PY, measure

    best: dict[bool, list[float]] = {True: [], False: []}
    with demo_source(n) as url:
        for _ in range(rounds):
            for audit in (False, True):
                with tempfile.TemporaryDirectory(prefix="oc-audit-rest-") as tmp:
                    work = Path(tmp)
                    write_project(work, url)
                    head = [PY, "-m", "openconnector"] if audit else [PY, "-c", _NO_AUDIT]
                    m = measure([*head, "run", "people", "--json"], cwd=work)
                    run = json.loads(m.stdout)
                    assert run["status"] == "ok" and run["counts"]["created"] == n, run
                    best[audit].append(float(run["duration_s"]))
    off, on = min(best[False]), min(best[True])
    cost = f"audit costs {100 * (on - off) / off:.1f}% (all rounds: on {best[True]}, off {best[False]})"
    return [row("(r) REST first load, audit off", n, off), row("(r) REST first load, audit on", n, on, cost)]


def replay_bench(q: int) -> dict[str, Any]:
    from openconnector.pipelines.replay import replay_quarantine

    folder = Path(tempfile.mkdtemp(dir=WORK))
    os.environ["OPENCONNECTOR_AUDIT_KEY_FILE"] = str(folder / "audit.key")
    os.environ["OPENCONNECTOR_AUDIT_ANCHOR"] = str(folder / "anchor.jsonl")
    nobody = {"type": "string", "pattern": "^nobody$"}
    strict = dict(SCHEMA, properties=dict(SCHEMA["properties"], email=nobody))
    project = project_in(folder, strict)
    store = Store(f"sqlite:///{folder / 'store.db'}")
    store.sync_registers({"crm": None}, project.schemas)
    Generated.DATA["people"] = people(q)
    gc.freeze()
    first = asyncio.run(run_pipeline(project, store, "people"))
    assert first.counts["quarantined"] == q, first.counts
    project = project_in(folder)  # the schema is fixed
    store.sync_registers({"crm": None}, project.schemas)
    started = time.perf_counter()
    result = replay_quarantine(project, store, pipeline="people")
    seconds = time.perf_counter() - started
    assert result.resolved == q, result.as_dict()
    return row("(c) replay quarantined records", q, seconds, f"replay run counts {result.runs[0]['counts']}")


if __name__ == "__main__":
    main()
