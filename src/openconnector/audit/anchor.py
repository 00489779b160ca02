"""Checkpoints anchored outside the database: one JSON line per committed checkpoint.

Whoever can edit the database can delete the newest entries together with their checkpoints and
roll the chain head back; the chain that remains is then valid. The anchor file, kept elsewhere
(``OPENCONNECTOR_AUDIT_ANCHOR``; ship it to write-once storage in production), still names the
newest checkpoint, so verification notices the truncation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("openconnector.audit")

ANCHOR_ENV = "OPENCONNECTOR_AUDIT_ANCHOR"
ANCHOR_FILE = "audit-anchor.jsonl"
_OFF = {"", "off", "none", "false", "0"}
_TAIL_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain_id: str
    seq: int
    hash: str
    created_at: str
    key_id: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain_id,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.created_at,
            "key_id": self.key_id,
            "signature": self.signature,
        }


def anchor_path(base_dir: Path | None = None) -> Path | None:
    """The configured anchor file; ``None`` when anchoring is switched off."""
    configured = os.environ.get(ANCHOR_ENV)
    if configured is not None:
        return None if configured.strip().lower() in _OFF else Path(configured)
    return (base_dir or Path.cwd()) / ".openconnector" / ANCHOR_FILE


def append(path: Path, checkpoints: list[Checkpoint]) -> None:
    """Append lines with one write on an O_APPEND descriptor, so writers in several processes
    never interleave inside a line."""
    data = b"".join(orjson.dumps(c.as_dict()) + b"\n" for c in checkpoints)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _parse(line: bytes) -> Checkpoint | None:
    try:
        d = orjson.loads(line)
        return Checkpoint(
            str(d["chain"]),
            int(d["seq"]),
            str(d["hash"]),
            str(d["at"]),
            str(d["key_id"]),
            str(d["signature"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _lines(path: Path, tail_only: bool) -> Iterator[bytes]:
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        if tail_only and size > _TAIL_BYTES:
            f.seek(size - _TAIL_BYTES)
            f.readline()  # a partial line
        else:
            f.seek(0)
        yield from f


@dataclass
class AnchorState:
    newest: Checkpoint | None  # newest checkpoint of the chain asked for
    other_chains: set[str]
    unreadable: int  # lines that are not checkpoints


def newest(path: Path, chain_id: str) -> AnchorState:
    """The checkpoint with the highest seq for ``chain_id`` (lines from several processes may be
    slightly out of order, so the maximum, not the last line)."""
    state = AnchorState(None, set(), 0)
    for tail_only in (True, False):
        state = AnchorState(None, set(), 0)
        for line in _lines(path, tail_only):
            if not line.strip():
                continue
            cp = _parse(line)
            if cp is None:
                state.unreadable += 1
            elif cp.chain_id != chain_id:
                state.other_chains.add(cp.chain_id)
            elif state.newest is None or cp.seq > state.newest.seq:
                state.newest = cp
        if state.newest is not None:
            break
    return state
