"""File-drop benchmark (issue 5): one large CSV through the full pipeline, from a local folder and
over SFTP.

A CSV of N rows (10 columns, ~150 bytes a row: 1,000,000 rows ≈ 150 MB) is generated once and
cached under bench/results/ (``--rows`` picks the size; a cached file of that size is reused).
Scenarios, each ``openconnector run`` in a fresh process (so peak memory is the run's own), each on
an empty register:

  (local) a ``files`` source folder → mapping (5 fields, one template) → JSON Schema → SQLite;
  (sftp)  the same file served by an asyncssh SFTP server in its own process; the source pins the
          server's host key by its SHA-256 fingerprint (an unknown key is refused);
  (many)  ``--files`` small files of 10 rows (the first rows of the CSV) in a local folder with
          ``after: keep``: what each processed file costs as the pipeline's memory of files grows.

    .venv/bin/python bench/bench_files.py                       # 1,000,000 rows, both scenarios
    .venv/bin/python bench/bench_files.py --rows 200000 --scenarios local
    .venv/bin/python bench/bench_files.py --scenarios many --files 6000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from common import PY, ROOT, free_port, measure, report

RESULTS = ROOT / "bench" / "results"
USER, PASSWORD = "bench", "bench-pw"

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "email", "city"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "email": {"type": "string"},
        "city": {"type": "string"},
        "postcode": {"type": "string"},
        "amount": {"type": "number"},
        "signed_up": {"type": "string"},
    },
}

CONFIG = """
registers:
  crm:
    schemas:
      person: person.schema.json
sources:
{source}
mappings:
  person:
    mapping:
      name: "{{{{ first_name }}}} {{{{ last_name }}}}"
      email: email
      city: city
      postcode: postcode
      amount: amount
      signed_up: signed_up
pipelines:
  people:
    source: drop
    read:
      path: "*.csv"
      id: id
      types: {{amount: float}}
      after: keep
      stable_seconds: 0
    mapping: person
    target: crm/person
"""

LOCAL_SOURCE = """
  drop:
    type: files
    location: {folder}
"""

SFTP_SOURCE = """
  drop:
    type: sftp
    location: sftp://127.0.0.1:{port}/
    auth: {{type: basic, username: {user}, password: "${{BENCH_SFTP_PASSWORD}}"}}
    host_key_fingerprint: "{fingerprint}"
"""

FIRST = ["Anna", "Bram", "Chloë", "Daan", "Emma", "Finn", "Julia", "Lucas", "Sophie", "Noah", "Tess", "Sem"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos"]
CITIES = ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere"]
STREETS = [
    "Dorpsstraat",
    "Kerkstraat",
    "Burgemeester van Heemstralaan",
    "Molenweg",
    "Stationsweg",
    "Julianalaan",
]


def generate(path: Path, rows: int) -> None:
    """id,first_name,last_name,email,phone,street,city,postcode,amount,signed_up (~145 B/row)."""
    rnd = random.Random(5)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("id,first_name,last_name,email,phone,street,city,postcode,amount,signed_up\n")
        lines = []
        for i in range(1, rows + 1):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            email = f"{first.lower()}.{last.replace(' ', '').lower()}{i}@voorbeeldgemeente.nl"
            phone = f"+31 6 {rnd.randint(10_000_000, 99_999_999)}"
            street = f"{rnd.choice(STREETS)} {rnd.randint(1, 250)}"
            postcode = (
                f"{rnd.randint(1000, 9999)} {chr(65 + rnd.randint(0, 25))}{chr(65 + rnd.randint(0, 25))}"
            )
            amount = f"{rnd.randint(0, 999_999) / 100:.2f}"
            day = (
                f"20{rnd.randint(10, 24)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
                f"T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}Z"
            )
            city = rnd.choice(CITIES)
            lines.append(
                f'{i},{first},"{last}",{email},{phone},"{street}",{city},{postcode},{amount},{day}\n'
            )
            if len(lines) == 10_000:
                fh.writelines(lines)
                lines.clear()
        fh.writelines(lines)
    tmp.rename(path)


def csv_file(rows: int) -> Path:
    path = RESULTS / f"files-{rows}.csv"
    if not path.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({rows:,} rows) ...", flush=True)
        start = time.perf_counter()
        generate(path, rows)
        print(f"  {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - start:.0f} s", flush=True)
    return path


SFTP_SERVER = r"""
import asyncio, os, sys
import asyncssh

root, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], os.environ["BENCH_SFTP_PASSWORD"]

class Server(asyncssh.SSHServer):
    def begin_auth(self, username): return True
    def password_auth_supported(self): return True
    def validate_password(self, username, pw): return username == user and pw == password

async def main():
    key = asyncssh.generate_private_key("ssh-ed25519")
    await asyncssh.listen("127.0.0.1", port, server_host_keys=[key], server_factory=Server,
                          sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=os.fsencode(root)),
                          allow_scp=False)
    print(key.get_fingerprint("sha256"), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def start_sftp(root: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """An asyncssh SFTP server in its own process (so it does not count in the run's memory or
    compete with it for the GIL); returns it and its host key's fingerprint."""
    proc = subprocess.Popen(
        [PY, "-c", SFTP_SERVER, str(root), str(port), USER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("SHA256:"):
        proc.kill()
        raise RuntimeError(f"the SFTP server did not start (printed {line!r})")
    return proc, line


def many_files(data: Path, folder: Path, files: int, rows_per_file: int = 10) -> None:
    """``files`` CSV files cut from the first rows of ``data``, oldest first in name order."""
    folder.mkdir()
    with open(data, encoding="utf-8") as fh:
        header = fh.readline()
        for i in range(files):
            path = folder / f"part-{i:06d}.csv"
            path.write_text(header + "".join(fh.readline() for _ in range(rows_per_file)))
            os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))


def run_scenario(work: Path, env: dict[str, str] | None = None) -> tuple[dict[str, object], float]:
    db = work / ".openconnector"
    if db.exists():
        shutil.rmtree(db)  # an empty register each time: a first load
    m = measure([PY, "-m", "openconnector", "run", "people", "--json"], cwd=work, env=env)
    try:
        run = json.loads(m.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"run failed (exit {m.returncode}): {m.stdout[-2000:]}") from None
    assert run["status"] == "ok", run
    return run, m.peak_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--scenarios", default="local,sftp", help="comma-separated: local, sftp")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario (each is reported)")
    ap.add_argument("--files", type=int, default=6000, help="files in the 'many' scenario")
    ap.add_argument("--out", type=Path, default=RESULTS / "files.json")
    args = ap.parse_args()

    data = csv_file(args.rows)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if args.files * 10 > args.rows and "many" in scenarios:
        raise SystemExit("--files needs 10 rows each from the CSV: raise --rows")
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="oc-bench-files-") as tmp:
        work = Path(tmp)
        drop = work / "drop"
        drop.mkdir()
        # a hard link (same disk) or a copy; after: keep leaves it where it is
        try:
            os.link(data, drop / "people.csv")
        except OSError:
            shutil.copyfile(data, drop / "people.csv")
        (work / "person.schema.json").write_text(json.dumps(SCHEMA))
        for scenario in scenarios:
            server: subprocess.Popen[str] | None = None
            env: dict[str, str] = {}
            try:
                label = f"({scenario}) {data.stat().st_size / 1e6:.0f} MB CSV → SQLite"
                if scenario == "local":
                    source = LOCAL_SOURCE.format(folder=drop)
                elif scenario == "many":
                    many = work / "many"
                    if not many.exists():
                        many_files(data, many, args.files)
                    source = LOCAL_SOURCE.format(folder=many)
                    label = f"(many) {args.files:,} files of 10 rows, after: keep → SQLite"
                elif scenario == "sftp":
                    env = {"BENCH_SFTP_PASSWORD": PASSWORD}
                    port = free_port()
                    server, fingerprint = start_sftp(drop, port, env)
                    source = SFTP_SOURCE.format(port=port, user=USER, fingerprint=fingerprint)
                else:
                    raise SystemExit(f"unknown scenario {scenario!r}")
                config = CONFIG.format(source=textwrap.indent(textwrap.dedent(source).strip(), "  "))
                (work / "openconnector.yaml").write_text(config)
                for _ in range(args.repeat):
                    run, peak = run_scenario(work, env)
                    c = run["counts"]
                    rows.append(
                        {
                            "scenario": label,
                            "records": c["read"],
                            "seconds": run["duration_s"],
                            "records_per_s": c["read"] / run["duration_s"],
                            "peak_mb": peak,
                            "note": f"created {c['created']} quarantined {c['quarantined']}"
                            + (
                                f", {run['duration_s'] * 1000 / args.files:.2f} ms per file"
                                if scenario == "many"
                                else ""
                            ),
                        }
                    )
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            finally:
                if server is not None:
                    server.terminate()
                    server.wait()
    report(rows, args.out)


if __name__ == "__main__":
    main()
