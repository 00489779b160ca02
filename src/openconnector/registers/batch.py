"""The pipeline engine's write path: one transaction per batch, one executemany per table.

The engine decides what each record's outcome is (see :mod:`openconnector.pipelines.process`);
this module loads the contracts a batch needs in one query and writes the batch's outcome —
objects, versions, contracts, run log, quarantine, connector state — atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection

from openconnector import jsonutil
from openconnector.registers import tables as t

_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


@dataclass(slots=True)
class ContractRow:
    object_id: str
    source_hash: str
    target_hash: str
    mapping_version: str | None
    schema_hash: str | None
    last_run_id: str | None
    version: int
    deleted: bool


@dataclass
class BatchWrite:
    """Everything one batch changes. Lists hold plain dicts ready for executemany."""

    object_inserts: list[dict[str, Any]] = field(default_factory=list)
    object_updates: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    contract_inserts: list[dict[str, Any]] = field(default_factory=list)
    contract_updates: list[dict[str, Any]] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)  # origin ids seen unchanged
    run_records: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    connector_state: dict[str, Any] | None = None
    #: hooks that write more rows in the same transaction (audit entries)
    extra: list[Callable[[Connection], None]] = field(default_factory=list)


class BatchWriter:
    def __init__(self, engine: Engine, pipeline: str, run_id: str) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.run_id = run_id

    def load_contracts(self, origin_ids: Sequence[str]) -> dict[str, ContractRow]:
        c, o = t.contracts, t.objects
        out: dict[str, ContractRow] = {}
        stmt = (
            select(
                c.c.origin_id,
                c.c.object_id,
                c.c.source_hash,
                c.c.target_hash,
                c.c.mapping_version,
                c.c.schema_hash,
                c.c.last_run_id,
                o.c.version,
                o.c.deleted_at,
            )
            .join(o, o.c.id == c.c.object_id)
            .where(c.c.pipeline == self.pipeline, c.c.origin_id.in_(bindparam("ids", expanding=True)))
        )
        unique = list(dict.fromkeys(origin_ids))
        with self.engine.connect() as conn:
            for i in range(0, len(unique), _IN_CHUNK):
                for r in conn.execute(stmt, {"ids": unique[i : i + _IN_CHUNK]}):
                    out[r.origin_id] = ContractRow(
                        r.object_id,
                        r.source_hash,
                        r.target_hash,
                        r.mapping_version,
                        r.schema_hash,
                        r.last_run_id,
                        r.version,
                        r.deleted_at is not None,
                    )
        return out

    def commit(self, w: BatchWrite) -> None:
        with self.engine.begin() as conn:
            self.write(conn, w)

    def write(self, conn: Connection, w: BatchWrite) -> None:
        if w.object_inserts:
            conn.execute(insert(t.objects), w.object_inserts)
        if w.object_updates:
            o = t.objects
            conn.execute(
                update(o)
                .where(o.c.id == bindparam("b_id"))
                .values(
                    data=bindparam("data"),
                    version=bindparam("version"),
                    updated_at=bindparam("updated_at"),
                    deleted_at=bindparam("deleted_at"),
                ),
                w.object_updates,
            )
        if w.versions:
            conn.execute(insert(t.object_versions), w.versions)
        if w.contract_inserts:
            conn.execute(insert(t.contracts), w.contract_inserts)
        if w.contract_updates:
            c = t.contracts
            conn.execute(
                update(c)
                .where(c.c.pipeline == self.pipeline, c.c.origin_id == bindparam("b_origin"))
                .values(
                    object_id=bindparam("object_id"),
                    source_hash=bindparam("source_hash"),
                    target_hash=bindparam("target_hash"),
                    mapping_version=bindparam("mapping_version"),
                    schema_hash=bindparam("schema_hash"),
                    last_run_id=self.run_id,
                    updated_at=bindparam("updated_at"),
                ),
                w.contract_updates,
            )
        if w.touched:
            c = t.contracts
            for i in range(0, len(w.touched), _IN_CHUNK):
                conn.execute(
                    update(c)
                    .where(c.c.pipeline == self.pipeline, c.c.origin_id.in_(w.touched[i : i + _IN_CHUNK]))
                    .values(last_run_id=self.run_id)
                )
        if w.run_records:
            conn.execute(insert(t.run_records), w.run_records)
        if w.quarantine:
            conn.execute(insert(t.quarantine), w.quarantine)
        if w.connector_state is not None:
            conn.execute(
                update(t.pipeline_state)
                .where(t.pipeline_state.c.pipeline == self.pipeline)
                .values(connector_state=jsonutil.dumps_str(w.connector_state))
            )
        for hook in w.extra:
            hook(conn)

    def missing(self, limit: int = 1000) -> list[tuple[str, str, int]]:
        """Live objects of this pipeline whose origin id was not seen in this run (for on_missing: delete)."""
        c, o = t.contracts, t.objects
        stmt = (
            select(c.c.origin_id, c.c.object_id, o.c.version)
            .join(o, o.c.id == c.c.object_id)
            .where(
                c.c.pipeline == self.pipeline,
                o.c.deleted_at.is_(None),
                or_(c.c.last_run_id.is_(None), c.c.last_run_id != self.run_id),
            )
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.origin_id, r.object_id, r.version) for r in conn.execute(stmt)]

    def delete(self, rows: Sequence[tuple[str, str, int]], now: str) -> None:
        """Soft-delete objects (new version, history kept) and log them in the run."""
        o = t.objects
        with self.engine.begin() as conn:
            conn.execute(
                update(o)
                .where(and_(o.c.id == bindparam("b_id")))
                .values(deleted_at=now, updated_at=now, version=bindparam("version")),
                [{"b_id": oid, "version": v + 1} for _, oid, v in rows],
            )
            conn.execute(
                insert(t.object_versions),
                [
                    {
                        "object_id": oid,
                        "version": v + 1,
                        "data": None,
                        "action": "delete",
                        "actor": f"pipeline:{self.pipeline}",
                        "run_id": self.run_id,
                        "created_at": now,
                    }
                    for _, oid, v in rows
                ],
            )
            conn.execute(
                update(t.contracts)
                .where(
                    t.contracts.c.pipeline == self.pipeline, t.contracts.c.origin_id.in_([r[0] for r in rows])
                )
                .values(last_run_id=self.run_id)
            )
            conn.execute(
                insert(t.run_records),
                [
                    {
                        "run_id": self.run_id,
                        "origin_id": origin,
                        "outcome": "deleted",
                        "object_id": oid,
                        "error": None,
                    }
                    for origin, oid, _ in rows
                ],
            )
