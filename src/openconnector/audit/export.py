"""Evidence exports: entries, group checkpoints and a verification result in one file, verifiable offline.

An export covers whole groups (every group whose checkpoint was signed in the chosen period). It
holds each entry body and group header exactly as hashed, so ``openconnector audit verify --file``
recomputes the chain without a database; only the signing key is needed, for the checkpoints and
for the seal over the file's header (range, counts, chain) — cutting entries off the end and
editing the header to match is caught too.

JSON: one document, one group or entry per line (problems name the line). CSV: one row per record,
``record`` = ``meta`` | ``verification`` | ``group`` | ``entry``.
"""

from __future__ import annotations

import csv
import hmac
import io
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine

from openconnector.audit.anchor import Checkpoint
from openconnector.audit.entries import GENESIS
from openconnector.audit.keys import SigningKey
from openconnector.audit.snapshot import snapshot
from openconnector.audit.verify import ChainWalker, Group, Problem, VerifyResult
from openconnector.jsonutil import canonical
from openconnector.timeutil import now_iso

if TYPE_CHECKING:
    from openconnector.audit.trail import AuditTrail

FORMAT = "openconnector-audit-export"
VERSION = 1
CSV_COLUMNS = (
    "record",
    "seq",
    "first_seq",
    "hash",
    "header_hash",
    "object_id",
    "created_at",
    "key_id",
    "signature",
    "body",
)


def seal(key: SigningKey, meta: dict[str, Any], verification: dict[str, Any]) -> str:
    return hmac.new(key.secret, canonical({"meta": meta, "verification": verification}), "sha256").hexdigest()


def _group_dict(g: Group) -> dict[str, Any]:
    cp = g.checkpoint
    return {
        "seq": cp.seq,
        "first_seq": g.first_seq,
        "header": g.header,
        "header_hash": g.header_hash,
        "hash": cp.hash,
        "at": cp.created_at,
        "key_id": cp.key_id,
        "signature": cp.signature,
    }


def export(trail: AuditTrail, engine: Engine, start: str, end: str, fmt: str = "json") -> bytes:
    if fmt not in ("json", "csv"):
        raise ValueError(f"export format must be json or csv, not {fmt!r}")
    key = trail.key(create=False)
    verification = trail.verify(engine).as_dict()
    entries: list[list[Any]] = []
    groups: list[Group] = []
    with snapshot(engine) as snap:
        head = snap.head()
        span = snap.span(start, end)
        start_hash = GENESIS
        if span is not None:
            first, last = span
            if first > 1:
                before = next(snap.entries(first - 2, first - 1), [])
                start_hash = before[0][1] if before else ""
            for page in snap.entries(first - 1, last):
                entries.extend(page)
            groups = [g for g in snap.groups(first - 1, last) if g.first_seq >= first]
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "chain_id": head[0] if head else None,
        "key_id": key.key_id,
        "exported_at": now_iso(),
        "from": start,
        "to": end,
        "start_hash": start_hash,  # the chain hash before the first entry: the first header's link
        "first_seq": entries[0][0] if entries else None,
        "last_seq": entries[-1][0] if entries else None,
        "entry_count": len(entries),
        "group_count": len(groups),
    }
    sealed = seal(key, meta, verification)
    if fmt == "csv":
        return _csv(meta, sealed, verification, groups, entries)
    out = [
        orjson.dumps({**meta, "seal": sealed})[:-1] + b",",
        b'"verification":' + orjson.dumps(verification) + b",",
        b'"groups":[',
        b",\n".join(orjson.dumps(_group_dict(g)) for g in groups),
        b'],\n"entries":[',
        b",\n".join(orjson.dumps({"seq": r[0], "hash": r[1], "body": r[2]}) for r in entries),
        b"]}\n",
    ]
    return b"\n".join(part for part in out if part)


def _csv(
    meta: dict[str, Any],
    sealed: str,
    verification: dict[str, Any],
    groups: list[Group],
    entries: list[list[Any]],
) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    w.writerow(
        ["meta", "", "", "", "", "", meta["exported_at"], meta["key_id"], sealed, orjson.dumps(meta).decode()]
    )
    w.writerow(["verification", "", "", "", "", "", "", "", "", orjson.dumps(verification).decode()])
    for g in groups:
        cp = g.checkpoint
        w.writerow(["group", cp.seq, g.first_seq, cp.hash, g.header_hash, "", cp.created_at, cp.key_id,
                    cp.signature, g.header])  # fmt: skip
    for r in entries:
        w.writerow(["entry", r[0], "", r[1], "", r[3], "", "", "", r[2]])
    return buf.getvalue().encode("utf-8")


# -- offline verification --------------------------------------------------------------------------


class _FileLookup:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.by_seq = {r[0]: r for r in rows}

    def _body(self, seq: int) -> dict[str, Any]:
        row = self.by_seq.get(seq)
        try:
            body = orjson.loads(row[2]) if row else {}
        except orjson.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}

    def body_seq_at(self, seq: int) -> int | None:
        value = self._body(seq).get("seq")
        return value if isinstance(value, int) else None

    def object_id_at(self, seq: int) -> str | None:
        value = self._body(seq).get("object_id")
        return value if isinstance(value, str) else None


class _Parsed:
    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.seal = ""
        self.verification: dict[str, Any] = {}
        self.groups: list[Group] = []
        self.rows: list[tuple[Any, ...]] = []
        self.lines: dict[int, int] = {}
        self.damage: list[Problem] = []


def verify_export(path: Path, key: SigningKey) -> VerifyResult:
    started = time.perf_counter()
    source = f"file:{path}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"cannot read export {path}: {exc.strerror}") from None
    parsed = _parse_json(data) if data.lstrip().startswith(b"{") else _parse_csv(data)
    chain_id = str(parsed.meta.get("chain_id") or "")
    if parsed.damage:
        return VerifyResult(
            False,
            0,
            0,
            0,
            chain_id or None,
            key.key_id,
            source,
            parsed.damage,
            duration_s=time.perf_counter() - started,
        )
    problems: list[Problem] = []
    if parsed.meta.get("format") != FORMAT:
        fmt = parsed.meta.get("format")
        problems.append(Problem(0, None, "damaged", f"not an OpenConnector audit export (format {fmt!r})", 1))
    elif not hmac.compare_digest(seal(key, parsed.meta, parsed.verification), parsed.seal):
        detail = "the export's header (range, counts) or its verification result was changed"
        if parsed.meta.get("key_id") != key.key_id:
            sealed_by = parsed.meta.get("key_id")
            detail = f"the export was sealed with key {sealed_by}, the configured key is {key.key_id}"
        problems.append(Problem(0, None, "bad signature", detail, 1))
    rows = parsed.rows
    first_seq = parsed.meta.get("first_seq")
    if not isinstance(first_seq, int):
        first_seq = rows[0][0] if rows else 1
    start_hash = parsed.meta.get("start_hash")
    walker = ChainWalker(
        key,
        chain_id,
        _FileLookup(rows),
        start_seq=first_seq,
        start_prev=str(start_hash or ""),
        line_of=parsed.lines.get,
    )
    walker.resync = not start_hash  # without it (a damaged header) the first link cannot be checked
    walker.feed(rows, parsed.groups)
    last_seq = parsed.meta.get("last_seq")
    if isinstance(last_seq, int) and walker.last_seq < last_seq:
        walker.add(
            walker.last_seq + 1,
            None,
            "truncated",
            f"the export says it ends at seq {last_seq} but its entries end at {walker.last_seq}",
        )
    walker.finish(later=parsed.groups)
    count = parsed.meta.get("entry_count")
    if len(rows) != count:
        walker.add(
            walker.last_seq + 1,
            None,
            "truncated" if isinstance(count, int) and len(rows) < count else "inserted",
            f"the export holds {len(rows)} entries; its header says {count}",
        )
    result = walker.result(source=source, started=started)
    result.problems = sorted(problems + result.problems, key=lambda p: p.seq)
    result.ok = not result.problems
    exported = parsed.verification
    if exported and not exported.get("ok", True):
        then = (exported.get("first_bad") or {}).get("detail")
        result.warnings.append(f"the database did not verify when this was exported: {then}")
    return result


def _damaged(parsed: _Parsed, detail: str, line: int | None = None) -> _Parsed:
    parsed.damage.append(Problem(0, None, "damaged", detail, line))
    return parsed


_SEQ_LINE = re.compile(rb'^\{"seq":(\d+),"hash"')


def _group(chain_id: str, d: Any) -> Group:
    cp = Checkpoint(
        chain_id, int(d["seq"]), str(d["hash"]), str(d["at"]), str(d["key_id"]), str(d["signature"])
    )
    return Group(int(d["first_seq"]), str(d["header"]), str(d["header_hash"]), cp)


def _parse_json(data: bytes) -> _Parsed:
    p = _Parsed()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _damaged(
            p, f"the file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", exc.lineno
        )
    if not isinstance(doc, dict):
        return _damaged(p, "the file is not an audit export (not a JSON object)", 1)
    p.seal = str(doc.get("seal") or "")
    p.verification = doc.get("verification") or {}
    p.meta = {k: v for k, v in doc.items() if k not in ("seal", "verification", "groups", "entries")}
    for n, line in enumerate(data.split(b"\n"), start=1):
        m = _SEQ_LINE.match(line)
        if m:
            p.lines.setdefault(int(m.group(1)), n)
    entries, groups = doc.get("entries"), doc.get("groups")
    if not isinstance(entries, list) or not isinstance(groups, list):
        return _damaged(p, "the export has no list of entries or groups")
    chain_id = str(p.meta.get("chain_id") or "")
    for i, g in enumerate(groups):
        try:
            p.groups.append(_group(chain_id, g))
        except (KeyError, TypeError, ValueError):
            return _damaged(p, f"group #{i + 1} is incomplete")
    for i, e in enumerate(entries):
        try:
            p.rows.append((int(e["seq"]), str(e["hash"]), str(e["body"])))
        except (KeyError, TypeError, ValueError):
            seq = e.get("seq") if isinstance(e, dict) else None
            return _damaged(
                p, f"entry #{i + 1} is incomplete", p.lines.get(seq) if isinstance(seq, int) else None
            )
    return p


def _parse_csv(data: bytes) -> _Parsed:
    p = _Parsed()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _damaged(p, f"the file is neither JSON nor UTF-8 CSV (byte {exc.start})")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != CSV_COLUMNS:
        return _damaged(p, "the file is not an audit export (unexpected CSV header)", 1)
    width = len(CSV_COLUMNS)
    for row in reader:
        line = reader.line_num
        if len(row) != width:
            return _damaged(p, f"the row has {len(row)} fields, expected {width}", line)
        kind, seq, first, digest, header_hash, object_id, at, key_id, signature, body = row
        try:
            if kind == "meta":
                p.meta, p.seal = orjson.loads(body), signature
            elif kind == "verification":
                p.verification = orjson.loads(body)
            elif kind == "group":
                g = {"seq": seq, "first_seq": first, "header": body, "header_hash": header_hash}
                g.update(hash=digest, at=at, key_id=key_id, signature=signature)
                p.groups.append(_group(str(p.meta.get("chain_id") or ""), g))
            elif kind == "entry":
                p.rows.append((int(seq), digest, body, object_id))
                p.lines.setdefault(int(seq), line)
            else:
                return _damaged(p, f"unknown record kind {kind!r}", line)
        except (ValueError, KeyError, orjson.JSONDecodeError) as exc:
            return _damaged(p, f"unreadable {kind} row: {exc}", line)
    if not p.meta:
        return _damaged(p, "the export has no meta row")
    return p
