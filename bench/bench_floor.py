"""The floor under the first-load targets: the least work the product's guarantees need, hand-written.

The 200,000 person records of ``bench_rest.py`` (pages of 1,000 from the same demo source), the
same register tables and indexes (the product's migrations), the same SQL. Per record only what
the hard rules require and nothing around it: parse, origin id, canonical source hash, the mapping
written out as a dict literal, one ``is_valid`` call, body + canonical target hash, a uuid7, the
object/contract/run-log rows and a hash-chained audit entry; per page one contract lookup, the
product's bulk inserts and a commit. No framework, no threads, no event loop, no checks for bad input.

Rows: (floor, memory) the pages already in memory; (floor, memory, 1 worker process) the same with
everything but the store's work (decode, map, validate, hash) done in a second process, the ceiling
of process workers on this machine; (floor, HTTP) each page fetched with one httpx call;
(openconnector) ``openconnector run`` on the same source (``bench_rest.py``'s (a)). The product's
rate over the HTTP floor is the share its own machinery leaves; a floor under a target says the
target needs less work per record, not less overhead.

    .venv/bin/python bench/bench_floor.py                 # 200,000 records, each row once
    .venv/bin/python bench/bench_floor.py --records 50000 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import resource
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import jsonschema_rs
import orjson
from bench_rest import SCHEMA, demo_source, write_project
from common import PY, ROOT, measure, report

from openconnector.audit.entries import create_body
from openconnector.demo.people import People
from openconnector.ids import uuid7
from openconnector.registers.batch import _SQL
from openconnector.registers.bulk import BulkInsert
from openconnector.registers.db import make_engine
from openconnector.registers.migrate import migrate
from openconnector.registers.rows import select_rows
from openconnector.timeutil import now_iso

PAGE = 1000
audit_entries = BulkInsert("audit_entries", "seq, hash, body, object_id")  # as the audit trail writes them


def in_memory(count: int) -> list[bytes]:
    """The demo server's page bodies, built up front."""
    people = People(count)
    return [people.page(p, PAGE).body for p in range(1, -(-count // PAGE) + 1)]


def over_http(client: httpx.Client, count: int) -> Callable[[], Iterable[bytes]]:
    def fetch() -> Iterable[bytes]:
        for p in range(1, -(-count // PAGE) + 1):
            yield client.get("/people", params={"per_page": PAGE, "page": p}).raise_for_status().content

    return fetch


_validator: jsonschema_rs.Validator | None = None


def prepare(raw: bytes) -> list[tuple[str, str, str, bytes, str]]:
    """A page's work that needs no store: (origin, source hash, body, canonical body, target hash)
    per valid record. Module-level so a worker process can run it."""
    global _validator
    validator = _validator = _validator or jsonschema_rs.validator_for(SCHEMA)
    blake2b, dumps, sort = hashlib.blake2b, orjson.dumps, orjson.OPT_SORT_KEYS
    out = []
    for r in orjson.loads(raw)["data"]:
        a = r["address"]
        data = {
            "name": f"{r['first_name']} {r['last_name']}",
            "email": r["email"],
            "city": a["city"],
            "postcode": a["postcode"],
            "tags": r["tags"],
            "active": r["active"],
        }
        if not validator.is_valid(data):
            continue
        canon = dumps(data, option=sort)
        out.append(
            (
                str(r["id"]),
                blake2b(dumps(r, option=sort), digest_size=16).hexdigest(),
                dumps(data).decode(),
                canon,
                blake2b(canon, digest_size=16).hexdigest(),
            )
        )
    return out


def load(db: Path, raw_pages: Callable[[], Iterable[bytes]], workers: int = 0) -> float:
    """Seconds to load every page; with ``workers``, :func:`prepare` runs in that many processes
    while this one writes (what process workers could at best give the product)."""
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    sql = _SQL("sqlite")
    conn = engine.connect()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # as load_contracts
    sha256, dumps = hashlib.sha256, orjson.dumps
    run_id, pipeline, actor = uuid7(), "people", "pipeline:people"
    mapping_version, schema_hash = "m1", "s1"
    prev = "0" * 64
    seq = 0
    pool = ProcessPoolExecutor(workers) if workers else None
    if pool is not None:
        pool.submit(prepare, next(iter(raw_pages()))).result()  # started and warm before the clock
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    prepared = pool.map(prepare, raw_pages()) if pool is not None else map(prepare, raw_pages())
    for n, page in enumerate(prepared):
        now = now_iso()
        rest, params = sql.contracts_of([p[0] for p in page])
        known = {r[0] for r in select_rows(cursor, True, "origin_id", rest, (pipeline, *params))}
        objects, contracts, log, audit = [], [], [], []
        for origin, source_hash, body, canon, target_hash in page:
            if origin in known:
                continue
            object_id = uuid7()
            objects.append((object_id, body, origin))
            contracts.append((origin, object_id, source_hash, target_hash))
            log.append([origin, "created", object_id, None])
            seq += 1
            entry = create_body(object_id, origin, canon, seq)
            prev = sha256(prev.encode() + entry).hexdigest()
            audit.append((seq, prev, entry.decode(), object_id))
        sql.insert_objects(conn, objects, ("crm", "person", 1, now, now, pipeline, "create", actor, run_id))
        sql.insert_contracts(conn, contracts, (pipeline, run_id, mapping_version, schema_hash, now))
        audit_entries(conn, audit)
        conn.exec_driver_sql(sql.insert_log, (run_id, n, dumps(log).decode()))
        conn.commit()
    seconds = time.perf_counter() - started
    if pool is not None:
        pool.shutdown()
    cursor.close()
    conn.close()
    engine.dispose()
    return seconds


def floor_row(label: str, count: int, seconds: float) -> dict[str, object]:
    return {
        "scenario": f"hand-written floor, {label}",
        "records": count,
        "seconds": seconds,
        "records_per_s": count / seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "note": "peak includes the pages built in memory",
    }


def product_row(work: Path, url: str, n: int) -> dict[str, object]:
    write_project(work, url)
    m = measure([PY, "-m", "openconnector", "run", "people", "--json"], cwd=work)
    run = json.loads(m.stdout)
    assert run["status"] == "ok" and run["counts"]["created"] == n, run
    seconds = float(run["duration_s"])
    return {
        "scenario": "openconnector run (bench_rest (a))",
        "records": n,
        "seconds": seconds,
        "records_per_s": n / seconds,
        "peak_mb": m.peak_mb,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "floor.json")
    args = ap.parse_args()
    n = args.records
    product: list[dict[str, object]] = []
    floors: list[dict[str, object]] = []
    http_rates: list[float] = []
    with demo_source(n) as url, httpx.Client(base_url=url, timeout=60) as client:
        # The product first: a child forked from this process after it built the pages in memory
        # would report their size as its own peak (Linux carries the peak over fork and exec).
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="oc-floor-") as tmp:
                product.append(product_row(Path(tmp), url, n))
        pages = in_memory(n)
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="oc-floor-") as tmp:
                work = Path(tmp)
                floors.append(floor_row("memory", n, load(work / "memory.db", lambda: pages)))
                seconds = load(work / "worker.db", lambda: pages, workers=1)
                floors.append(floor_row("memory, 1 worker process", n, seconds))
                seconds = load(work / "http.db", over_http(client, n))
                http_rates.append(n / seconds)
                floors.append(floor_row("HTTP", n, seconds))
    median = sorted(http_rates)[len(http_rates) // 2]
    for row in product:
        row["note"] = f"{100 * n / float(str(row['seconds'])) / median:.0f}% of the HTTP floor (median)"
    report(product + floors, args.out)


if __name__ == "__main__":
    main()
