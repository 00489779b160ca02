"""Core benchmark (issue 2): a paginated REST source of N person records through the full pipeline.

Scenarios, each in its own process (so peak memory is the run's own):
  (a) first load, (b) unchanged re-run, (c) re-run after ~10% of the records changed.
Optionally the same job with dlt (`--dlt-python` pointing at a venv that has `dlt[sqlalchemy]`).

    .venv/bin/python bench/bench_rest.py --records 200000
    .venv/bin/python bench/bench_rest.py --records 1000000 --scenarios a   # memory flatness
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from common import PY, ROOT, free_port, measure, report, wait_http

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
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
  demo:
    type: rest
    location: {url}
mappings:
  person:
    mapping:
      name: "{{{{ first_name }}}} {{{{ last_name }}}}"
      email: email
      city: address.city
      postcode: address.postcode
      tags: tags
      active: active
pipelines:
  people:
    source: demo
    read:
      path: /people
      query: {{per_page: 1000}}
      records: data
      id: id
      pagination: {{type: page, param: page}}
    mapping: person
    target: crm/person
"""


#: records a page, as the core benchmark's job reads them
PER_PAGE = 1000


@contextmanager
def demo_source(records: int) -> Iterator[str]:
    """The demo REST source with ``records`` people, in its own process; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PY, "-m", "openconnector.demo", "--port", str(port), "--records", str(records)]
    )
    try:
        wait_http(f"{url}/people?per_page=1", timeout=120)
        warm(url, records)
        yield url
    finally:
        server.terminate()
        server.wait()


def warm(url: str, records: int) -> None:
    """Fetch every page once, so the source serves the runs from its cache of encoded records.

    The source shares this machine's two cores with the run it feeds; building 200,000 records'
    JSON on their first request took it ~1.2 s of CPU during (a), a cost no remote source puts
    on the machine that pulls from it (warm, it spends ~1 ms a page)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for page in range(1, records // PER_PAGE + 2):
            client.get("/people", params={"page": page, "per_page": PER_PAGE}).raise_for_status()


def set_revision(url: str, records: int, n: int) -> None:
    """Change the source's records to revision ``n`` (10% of them differ from one to the next)."""
    httpx.post(f"{url}/admin/revision", params={"n": n}, timeout=60).raise_for_status()
    warm(url, records)


def write_project(work: Path, url: str) -> None:
    """The benchmark's project (config and schema) in ``work``, reading from ``url``."""
    (work / "person.schema.json").write_text(json.dumps(SCHEMA))
    (work / "openconnector.yaml").write_text(textwrap.dedent(CONFIG.format(url=url)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--scenarios", default="abc")
    ap.add_argument("--dlt-python", help="python of a venv with dlt[sqlalchemy] installed")
    ap.add_argument(
        "--dlt-scenarios",
        default="ac",
        help="dlt's runs: a (first load), c (merge of the 10%% changed; its default SQLite merge "
        "takes ~20 minutes for 200,000 records)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rest.json")
    args = ap.parse_args()
    if args.dlt_scenarios not in ("a", "ac"):
        ap.error("--dlt-scenarios is a or ac (dlt's merge needs its first load before it)")

    rows: list[dict[str, object]] = []
    with demo_source(args.records) as url, tempfile.TemporaryDirectory(prefix="oc-bench-") as tmp:
        work = Path(tmp)
        write_project(work, url)
        cmd = [PY, "-m", "openconnector", "run", "people", "--json"]
        for scenario in args.scenarios:
            if scenario == "c":
                set_revision(url, args.records, 1)
            m = measure(cmd, cwd=work)
            run = json.loads(m.stdout)
            c = run["counts"]
            assert run["status"] == "ok", run
            label = {"a": "(a) first load", "b": "(b) unchanged re-run", "c": "(c) 10% changed"}[scenario]
            rows.append(
                {
                    "scenario": f"openconnector {label}",
                    "records": c["read"],
                    "seconds": run["duration_s"],
                    "records_per_s": c["read"] / run["duration_s"],
                    "peak_mb": m.peak_mb,
                    "note": f"created {c['created']} updated {c['updated']} unchanged {c['unchanged']}, "
                    f"cpu {m.cpu_s:.1f} s, with children {m.tree_mb:.0f} MB",
                }
            )
        if args.dlt_python:
            if "c" in args.scenarios:
                set_revision(url, args.records, 0)
            for scenario in args.dlt_scenarios:
                if scenario == "c":
                    set_revision(url, args.records, 1)
                m = measure(
                    [
                        args.dlt_python,
                        str(ROOT / "bench" / "peers" / "dlt_rest.py"),
                        url,
                        str(work / "dlt.db"),
                    ],
                    cwd=work,
                )
                res = json.loads(m.stdout.strip().splitlines()[-1])
                label = "(a) first load" if scenario == "a" else "(c) merge, 10% changed"
                rows.append(
                    {
                        "scenario": f"dlt {label}",
                        "records": res["records"],
                        "seconds": res["seconds"],
                        "records_per_s": res["records"] / res["seconds"],
                        "peak_mb": m.peak_mb,
                    }
                )
    report(rows, args.out)


if __name__ == "__main__":
    main()
