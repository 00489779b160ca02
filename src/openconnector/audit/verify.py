"""Verification: recompute the chain from the stored bodies, trust no stored hash, locate the first bad entry.

Per entry: its seq follows the previous one (a gap is a deleted entry), the body's own ``seq`` is
its position (else it was moved, or entries before it were deleted or inserted and the rest
renumbered), its hash is SHA-256 of the previous hash and its body, its ``object_id`` column agrees
with the body. Per group: the header is chained in before the first entry, and the checkpoint at
the last entry carries a valid HMAC signature (the key is not in the database) over the chain hash
there — so a group rewritten with recomputed hashes is caught too. At the end: entries after the
last checkpoint were not written by us; checkpoints, the chain head or the anchor file beyond the
last entry mean the newest entries were cut off.

Problems are ``edited``, ``deleted``, ``inserted``, ``reordered``, ``truncated``, ``bad signature``
(and ``damaged`` for an unreadable export file), each with the seq and object id it concerns.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from openconnector.audit.anchor import Checkpoint
from openconnector.audit.entries import GENESIS
from openconnector.audit.keys import SigningKey

MAX_PROBLEMS = 100


@dataclass(slots=True)
class Group:
    """A group's checkpoint row: header (shared fields) and the signed chain hash at its end."""

    first_seq: int
    header: str
    header_hash: str
    checkpoint: Checkpoint

    @property
    def seq(self) -> int:
        return self.checkpoint.seq


@dataclass(slots=True)
class Problem:
    seq: int
    object_id: str | None
    problem: str
    detail: str
    line: int | None = None  # line of an export file

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "seq": self.seq,
            "object_id": self.object_id,
            "problem": self.problem,
            "detail": self.detail,
        }
        if self.line is not None:
            d["line"] = self.line
        return d

    def __str__(self) -> str:
        where = f"seq {self.seq}" + (f" (line {self.line})" if self.line is not None else "")
        obj = f", object {self.object_id}" if self.object_id else ""
        return f"{self.problem} at {where}{obj}: {self.detail}"


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    checkpoints: int
    last_seq: int
    chain_id: str | None
    key_id: str | None
    source: str
    problems: list[Problem] = field(default_factory=list)
    anchor: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def first_bad(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "checked": self.checked,
            "checkpoints": self.checkpoints,
            "last_seq": self.last_seq,
            "chain_id": self.chain_id,
            "key_id": self.key_id,
            "source": self.source,
            "first_bad": first.as_dict() if first else None,
            "problems": [p.as_dict() for p in sorted(self.problems, key=lambda p: p.seq)],
            "anchor": self.anchor,
            "warnings": self.warnings,
            "duration_s": round(self.duration_s, 3),
            "entries_per_s": int(self.checked / self.duration_s) if self.duration_s > 0 else None,
        }


class Lookup(Protocol):
    """Random access for the (rare) error path: explaining what a broken entry means."""

    def body_seq_at(self, seq: int) -> int | None: ...

    def object_id_at(self, seq: int) -> str | None: ...


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ChainWalker:
    """Walks entries in seq order (fed page by page, with the groups that start or end in the page)."""

    def __init__(
        self,
        key: SigningKey | None,
        chain_id: str,
        lookup: Lookup,
        *,
        start_seq: int = 1,
        start_prev: str = GENESIS,
        anchor: Checkpoint | None = None,
        line_of: Callable[[int], int | None] | None = None,
    ) -> None:
        self.key = key
        self.chain_id = chain_id
        self.lookup = lookup
        self.expected = start_seq
        self.last_hash = start_prev
        self.last_seq = start_seq - 1
        self.anchor = anchor
        self.anchor_hash: str | None = None
        self.line_of = line_of
        self.checked = 0
        self.checkpoints = 0
        self.signed_through = start_seq - 1  # the last seq a valid checkpoint covers
        self.group: Group | None = None
        self.headless: int | None = None  # first seq of entries that belong to no group
        self.resync = False
        self.problems: dict[int, Problem] = {}

    # -- collecting -------------------------------------------------------------------------------

    def add(self, seq: int, object_id: str | None, problem: str, detail: str) -> None:
        if seq in self.problems or len(self.problems) >= MAX_PROBLEMS:
            return
        line = self.line_of(seq) if self.line_of is not None else None
        self.problems[seq] = Problem(seq, object_id, problem, detail, line)

    def _problem_in(self, low: int, high: int) -> bool:
        return any(low <= s <= high for s in self.problems)

    # -- the walk ---------------------------------------------------------------------------------

    def feed(self, rows: Iterable[Sequence[Any]], groups: Iterable[Group]) -> None:
        """``rows``: ``(seq, hash, body[, object_id])`` in seq order; ``groups``: those that start
        or end among these rows."""
        starts: dict[int, Group] = {}
        ends: dict[int, Group] = {}
        for g in groups:
            starts[g.first_seq] = g
            ends[g.seq] = g
        sha256 = hashlib.sha256
        loads = orjson.loads
        anchor_seq = self.anchor.seq if self.anchor is not None else None
        expected, last, n = self.expected, self.last_hash, 0
        for row in rows:
            seq, h, body = row[0], row[1], row[2]
            if seq != expected:
                self._gap(expected, seq)
                self.resync = True
            start = starts.get(seq)
            if start is not None:
                last = self._open(start, last, seq)
            elif self.group is None and not self.resync and self.headless is None:
                self.headless = seq  # entries outside any group: judged when the next group starts
                self.resync = True
            raw = body.encode() if isinstance(body, str) else bytes(body)
            try:
                b = loads(raw)
            except orjson.JSONDecodeError:
                b = None
            if self.resync:  # nothing trustworthy to chain from: take this entry's hash as given
                self.resync = False
                intact = True
            else:
                intact = sha256(last.encode() + raw).hexdigest() == h
            if not intact or type(b) is not dict or b.get("seq") != seq:
                self._classify(row, b, intact)
            elif len(row) > 3 and b.get("object_id") != row[3]:
                self.add(
                    seq,
                    str(row[3]),
                    "edited",
                    f"column object_id is {_short(row[3])} "
                    f"but the hashed body says {_short(b.get('object_id'))}",
                )
            end = ends.get(seq)
            if end is not None:
                self._close(end, h, row, b)
            if seq == anchor_seq:
                self.anchor_hash = h
            last, expected = h, seq + 1
            n += 1
        self.expected, self.last_hash = expected, last
        self.last_seq = expected - 1
        self.checked += n

    def _open(self, g: Group, last: str, seq: int) -> str:
        """Chain the group's header in; returns the hash the first entry chains from."""
        if self.headless is not None:  # a group follows entries that had none: its checkpoint went
            self.add(
                self.headless,
                self.lookup.object_id_at(self.headless),
                "deleted",
                f"the checkpoint of the group of entries {self.headless}..{seq - 1} is missing",
            )
            self.headless = None
        if self.group is not None:
            self.add(
                seq,
                self.lookup.object_id_at(seq),
                "edited",
                f"a group starts at seq {seq} inside the group {self.group.first_seq}..{self.group.seq}",
            )
        self.group = g
        try:
            header = orjson.loads(g.header)
            agrees = (
                isinstance(header, dict)
                and header.get("first_seq") == g.first_seq
                and header.get("last_seq") == g.seq
                and header.get("at") == g.checkpoint.created_at
            )
        except orjson.JSONDecodeError:
            agrees = False
        resynced = self.resync  # the chain before this group is unknown (a gap, or an export's start)
        self.resync = False
        if not agrees or (
            not resynced and hashlib.sha256(last.encode() + g.header.encode()).hexdigest() != g.header_hash
        ):
            self.add(
                seq,
                self.lookup.object_id_at(seq),
                "edited",
                f"the shared record (actor, run, source, mapping, time) of entries {g.first_seq}..{g.seq} "
                "was changed",
            )
        return g.header_hash

    def _gap(self, expected: int, seq: int) -> None:
        if seq < expected:  # only possible in a file: entries out of order
            self.add(seq, None, "reordered", f"entry {seq} comes after entry {expected - 1}")
            return
        missing = f"entry {expected} is" if seq == expected + 1 else f"entries {expected}..{seq - 1} are"
        self.add(expected, None, "deleted", f"{missing} missing; the chain continues at seq {seq}")
        if self.group is not None and expected <= self.group.seq < seq:
            self.group = None  # its end went with the missing entries

    def _object_id(self, row: Sequence[Any], b: Any) -> str | None:
        if len(row) > 3 and row[3] is not None:
            return str(row[3])
        if type(b) is dict and isinstance(b.get("object_id"), str):
            return str(b["object_id"])
        return None

    def _classify(self, row: Sequence[Any], b: Any, intact: bool) -> None:
        seq = row[0]
        obj = self._object_id(row, b)
        if type(b) is not dict:
            self.add(seq, obj, "edited", "the body is not the JSON object that was hashed")
            return
        bseq = b.get("seq")
        if isinstance(bseq, int) and bseq != seq:
            if self.lookup.body_seq_at(bseq) == seq:
                self.add(
                    seq, obj, "reordered", f"entries {min(seq, bseq)} and {max(seq, bseq)} swapped places"
                )
            elif bseq > seq:
                self.add(
                    seq,
                    obj,
                    "deleted",
                    f"entries {seq}..{bseq - 1} were removed and the later entries renumbered "
                    f"(the entry stored at seq {seq} is entry {bseq})",
                )
            else:
                count = seq - bseq
                self.add(
                    bseq,
                    self.lookup.object_id_at(bseq),
                    "inserted",
                    f"{count} forged entr{'y' if count == 1 else 'ies'} at seq {bseq}..{seq - 1}; "
                    f"the entry stored at seq {seq} is entry {bseq}",
                )
            return
        if not intact:
            self.add(
                seq,
                obj,
                "edited",
                "the stored hash is not SHA-256(previous hash || body): the body or its hash was changed",
            )
            return
        self.add(seq, obj, "edited", f"the body says seq {bseq!r}")

    def _close(self, g: Group, h: str, row: Sequence[Any], b: Any) -> None:
        cp = g.checkpoint
        self.checkpoints += 1
        self.group = None
        first = max(g.first_seq, self.signed_through + 1)
        if self.key is not None and not self.key.verify(
            self.chain_id, cp.seq, cp.hash, cp.created_at, cp.signature
        ):
            if cp.key_id != self.key.key_id:
                detail = (
                    f"checkpoint signed with key {cp.key_id}, but the configured key is {self.key.key_id}"
                )
            else:
                detail = "checkpoint signature does not match: the checkpoint was forged or edited"
            self.add(cp.seq, self._object_id(row, b), "bad signature", detail)
        elif cp.hash != h and not self._problem_in(first, cp.seq):
            self.add(
                first,
                self.lookup.object_id_at(first),
                "edited",
                f"entries {first}..{cp.seq} do not match the signed checkpoint at seq {cp.seq}: "
                "they were rewritten and their hashes recomputed",
            )
        self.signed_through = cp.seq

    # -- the end --------------------------------------------------------------------------------

    def finish(self, *, later: Sequence[Group] = (), head: tuple[int, str] | None = None) -> None:
        last = self.last_seq
        beyond = [g for g in later if g.seq > last]
        if beyond:
            newest = max(beyond, key=lambda g: g.seq)
            self.add(
                last + 1,
                None,
                "truncated",
                f"checkpoint {newest.seq} (signed {newest.checkpoint.created_at}) exists "
                f"but the chain ends at seq {last}",
            )
        if self.signed_through < last and not self._problem_in(self.signed_through + 1, last):
            first = self.signed_through + 1
            self.add(
                first,
                self.lookup.object_id_at(first),
                "inserted",
                f"entries {first}..{last} are not covered by a signed checkpoint (every write signs one)",
            )
        if head is not None:
            head_seq, head_hash = head
            if head_seq > last:
                self.add(
                    last + 1,
                    None,
                    "truncated",
                    f"the chain head is at seq {head_seq}; the chain ends at {last}",
                )
            elif head_seq < last:
                self.add(
                    head_seq + 1,
                    self.lookup.object_id_at(head_seq + 1),
                    "inserted",
                    f"entries {head_seq + 1}..{last} lie beyond the chain head (seq {head_seq})",
                )
            elif head_hash != self.last_hash and last > 0:
                self.add(last, self.lookup.object_id_at(last), "edited", "the chain head's hash differs")
        a = self.anchor
        if a is None:
            return
        if self.key is not None and not self.key.verify(a.chain_id, a.seq, a.hash, a.created_at, a.signature):
            self.add(
                a.seq, None, "bad signature", f"the anchor file's newest checkpoint (seq {a.seq}) is forged"
            )
        elif a.seq > last:
            self.add(
                last + 1,
                None,
                "truncated",
                f"the anchor file records checkpoint {a.seq} (signed {a.created_at}) but the chain "
                f"ends at seq {last}: the newest entries were removed",
            )
        elif self.anchor_hash is not None and self.anchor_hash != a.hash:
            self.add(
                a.seq,
                self.lookup.object_id_at(a.seq),
                "edited",
                f"the chain at seq {a.seq} differs from the checkpoint in the anchor file",
            )

    def result(self, *, source: str, started: float, **kw: Any) -> VerifyResult:
        problems = sorted(self.problems.values(), key=lambda p: p.seq)
        return VerifyResult(
            ok=not problems,
            checked=self.checked,
            checkpoints=self.checkpoints,
            last_seq=self.last_seq,
            chain_id=self.chain_id,
            key_id=self.key.key_id if self.key else None,
            source=source,
            problems=problems,
            duration_s=time.perf_counter() - started,
            **kw,
        )
