"""Database source benchmark (issue 7): a table of N rows, 8 columns, read from PostgreSQL and from
MariaDB through the full pipeline into a SQLite register.

The table ``oc_bench_people_<N>`` (id, name, email, city, postcode, amount numeric(12,2), active,
updated_at + an index on updated_at) is bulk-loaded once per database (``generate_series`` /
MariaDB's ``seq_1_to_N``) and reused while it holds the N rows. Scenarios per database, each
``openconnector run`` in a fresh process (peak memory is the run's own):

  (a) first load of the whole table into an empty register (with ``reader: auto`` the rows are
      fetched and converted in a child process; the peak memory shown is the larger of the two
      processes, the child's being ~65 MB);
  (b) incremental run (``read.incremental.cursor: updated_at``) after 1% new rows were inserted:
      it reads only the rows from the stored mark on. Reported twice: table rows covered per
      second (the issue's "rows/s for an incremental run"), and the rows actually read with the
      raw seconds.

The rows (b) inserted are deleted before the next run of the benchmark.

    .venv/bin/python bench/bench_sql.py                         # 1,000,000 rows, both databases
    .venv/bin/python bench/bench_sql.py --rows 200000 --databases postgresql
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import sqlalchemy as sa
from common import PY, ROOT, measure, report


def table_name(rows: int) -> str:
    """One table per size, so a smaller run never shrinks the big table."""
    return f"oc_bench_people_{rows}"


ADMIN_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
LOCATIONS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}

CREATE = {
    "postgresql": [
        """CREATE TABLE {table} (
              id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, city text NOT NULL,
              postcode text NOT NULL, amount numeric(12,2) NOT NULL, active boolean NOT NULL,
              updated_at timestamptz NOT NULL)""",
        "CREATE INDEX {table}_updated_at ON {table} (updated_at)",
    ],
    "mysql": [
        """CREATE TABLE {table} (
              id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(100) NOT NULL,
              city VARCHAR(50) NOT NULL, postcode VARCHAR(10) NOT NULL, amount DECIMAL(12,2) NOT NULL,
              active BOOLEAN NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at))""",
    ],
}

# rows lo..hi; the old rows are stamped 2024-01-01 + id seconds, new ones (scenario b) now()
FILL = {
    "postgresql": """
        INSERT INTO {table}
        SELECT g, 'Person ' || g, 'person' || g || '@voorbeeldgemeente.nl',
               (ARRAY['Amsterdam','Rotterdam','Den Haag','Utrecht','Eindhoven','Groningen'])[g % 6 + 1],
               (1000 + g % 9000)::text || ' AB', (g % 100000) * 1.25, g % 3 <> 0,
               {stamp}
        FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) g""",
    "mysql": """
        INSERT INTO {table}
        SELECT seq, CONCAT('Person ', seq), CONCAT('person', seq, '@voorbeeldgemeente.nl'),
               ELT(seq % 6 + 1, 'Amsterdam','Rotterdam','Den Haag','Utrecht','Eindhoven','Groningen'),
               CONCAT(1000 + seq % 9000, ' AB'), (seq % 100000) * 1.25, seq % 3 <> 0,
               {stamp}
        FROM seq_1_to_{hi} WHERE seq >= :lo""",
}
OLD_STAMP = {
    "postgresql": "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'",
    "mysql": "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND",
}
NEW_STAMP = {"postgresql": "now()", "mysql": "NOW(6)"}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "email", "city"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "email": {"type": "string"},
        "city": {"type": "string"},
        "postcode": {"type": "string"},
        "amount": {"type": "string"},
        "active": {"type": ["boolean", "integer"]},  # MariaDB's BOOLEAN is TINYINT(1): a number
        "updated_at": {"type": "string"},
    },
}

CONFIG = """
registers:
  crm:
    schemas:
      person: person.schema.json
sources:
  db:
    type: {kind}
    location: {location}
mappings:
  person:
    mapping:
      name: name
      email: email
      city: city
      postcode: postcode
      amount: amount
      active: active
      updated_at: updated_at
pipelines:
  people:
    source: db
    read:
      table: {table}
      id: id
      reader: {reader}
      incremental: {{cursor: updated_at, lookback: 60}}
    mapping: person
    target: crm/person
"""


def fill(conn: sa.Connection, kind: str, table: str, lo: int, hi: int, stamp: str) -> None:
    sql = FILL[kind].format(table=table, stamp=stamp, hi=hi)
    conn.execute(sa.text(sql), {"lo": lo, "hi": hi})


def prepare(engine: sa.Engine, kind: str, rows: int) -> str:
    """The table with exactly ``rows`` old rows: created and filled once, new rows of an earlier
    run deleted. Returns its name."""
    table = table_name(rows)
    with engine.begin() as conn:
        exists = sa.inspect(conn).has_table(table)
        if exists:
            have = conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE id <= :n"), {"n": rows}
            ).scalar_one()
            if have == rows:
                conn.execute(sa.text(f"DELETE FROM {table} WHERE id > :n"), {"n": rows})
                return table
    print(f"{kind}: loading {rows:,} rows into {table} ...", flush=True)
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        for stmt in CREATE[kind]:
            conn.execute(sa.text(stmt.format(table=table)))
    with engine.begin() as conn:
        fill(conn, kind, table, 1, rows, OLD_STAMP[kind])
        if kind == "postgresql":
            conn.execute(sa.text(f"ANALYZE {table}"))
    print(f"  {time.perf_counter() - start:.0f} s", flush=True)
    return table


def mysql_driver() -> str:
    """Which driver the runs read MariaDB with (they inherit this environment)."""
    from openconnector.connectors.sql import SqlSource, mycext

    if mycext.usable(SqlSource.model_validate({"type": "mysql", "location": LOCATIONS["mysql"]})):
        return "read by the C extension ([mysql-c])"
    return "read by PyMySQL"


def run(work: Path) -> tuple[dict[str, object], float]:
    """One ``openconnector run`` in ``work``: its result (with ``cpu_s`` added) and peak memory."""
    m = measure([PY, "-m", "openconnector", "run", "people", "--json"], cwd=work)
    try:
        result = json.loads(m.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"run failed (exit {m.returncode}): {m.stdout[-2000:]}") from None
    assert result["status"] == "ok", result
    assert result["counts"]["quarantined"] == 0, result["counts"]
    result["cpu_s"] = m.cpu_s
    result["tree_mb"] = m.tree_mb
    return result, m.peak_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--databases", default="postgresql,mysql", help="comma-separated: postgresql, mysql")
    ap.add_argument("--scenarios", default="ab")
    ap.add_argument(
        "--reader",
        choices=("auto", "thread", "process"),
        default="auto",
        help="read.reader: auto takes a child process for the first load of a big table",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sql.json")
    args = ap.parse_args()
    new_rows = max(1, args.rows // 100)

    out: list[dict[str, object]] = []
    for kind in [d.strip() for d in args.databases.split(",") if d.strip()]:
        label = "MariaDB" if kind == "mysql" else "PostgreSQL"
        engine = sa.create_engine(ADMIN_URLS[kind])
        try:
            table = prepare(engine, kind, args.rows)
            with tempfile.TemporaryDirectory(prefix="oc-bench-sql-") as tmp:
                work = Path(tmp)
                (work / "person.schema.json").write_text(json.dumps(SCHEMA))
                config = CONFIG.format(kind=kind, location=LOCATIONS[kind], table=table, reader=args.reader)
                (work / "openconnector.yaml").write_text(textwrap.dedent(config))
                if "a" in args.scenarios or "b" in args.scenarios:
                    shutil.rmtree(work / ".openconnector", ignore_errors=True)  # an empty register
                    result, peak = run(work)
                    c = result["counts"]
                    out.append(
                        {
                            "scenario": f"{label} (a) first load",
                            "records": c["read"],
                            "seconds": result["duration_s"],
                            "records_per_s": c["read"] / result["duration_s"],
                            "peak_mb": peak,
                            "note": f"created {c['created']}, cpu {result['cpu_s']:.1f} s, "
                            f"with children {result['tree_mb']:.0f} MB"
                            + (f", {mysql_driver()}" if kind == "mysql" else "")
                            + ("" if "a" in args.scenarios else " (setup)"),
                        }
                    )
                if "b" in args.scenarios:
                    with engine.begin() as conn:
                        fill(conn, kind, table, args.rows + 1, args.rows + new_rows, NEW_STAMP[kind])
                    result, peak = run(work)
                    c = result["counts"]
                    table_rows = args.rows + new_rows
                    secs = result["duration_s"]
                    out.append(
                        {
                            "scenario": f"{label} (b) incremental, 1% new",
                            "records": table_rows,
                            "seconds": secs,
                            "records_per_s": table_rows / secs,
                            "peak_mb": peak,
                            "note": (
                                f"table rows covered/s; read {c['read']} rows = {c['read'] / secs:.0f} "
                                f"rows/s raw; created {c['created']} unchanged {c['unchanged']}"
                            ),
                        }
                    )
                    with engine.begin() as conn:
                        conn.execute(sa.text(f"DELETE FROM {table} WHERE id > :n"), {"n": args.rows})
        finally:
            engine.dispose()
    report(out, args.out)


if __name__ == "__main__":
    main()
