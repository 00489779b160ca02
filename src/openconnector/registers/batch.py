"""The pipeline engine's write path: one transaction per batch, one executemany per table.

The engine decides each record's outcome (:mod:`openconnector.pipelines.process`); this module
loads the contracts a batch needs in one query and writes the batch's outcome — objects (their
superseded versions archived), contracts, run log, quarantine, connector state and memory — atomically.
It talks to the DBAPI cursor with plain SQL and tuples: SQLAlchemy's per-row parameter
processing cost 5x the database's own work here.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Engine, insert, update
from sqlalchemy.engine import Connection

from openconnector import jsonutil
from openconnector.registers import tables as t
from openconnector.registers.bulk import BulkInsert
from openconnector.registers.checkpoint import checkpointer_for
from openconnector.registers.memory import write_memory
from openconnector.registers.rows import select_rows, sqlite_has_json

_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


#: A contract as :meth:`BatchWriter.load_contracts` reads it: the values of these columns, as the
#: database returns them, read by the positions below. Building an object per row cost 0.45 µs a
#: record (a third of the lookup): every record of a re-run is looked up, most then left alone.
CONTRACT_COLUMNS = (
    "origin_id, object_id, source_hash, target_hash, mapping_version, schema_hash, last_run_id, deleted"
)
ContractRow = Sequence[Any]
ORIGIN: Final = 0
OBJECT_ID: Final = 1
SOURCE_HASH: Final = 2
TARGET_HASH: Final = 3
MAPPING_VERSION: Final = 4
SCHEMA_HASH: Final = 5
LAST_RUN_ID: Final = 6
DELETED: Final = 7


@dataclass(slots=True, frozen=True)
class Created:
    """What the objects and contracts one batch creates have in common: written once per statement,
    not once per row (:class:`~openconnector.registers.bulk.BulkInsert`'s shared columns)."""

    register: str
    schema: str
    actor: str
    mapping_version: str | None
    schema_hash: str | None
    at: str


@dataclass
class BatchWrite:
    """Everything one batch changes, as tuples in the column order of the statements below."""

    #: (id, data, origin_id) of the objects created (version 1), each with what ``created`` says
    object_inserts: list[tuple[Any, ...]] = field(default_factory=list)
    #: (data, updated_at, action, actor, run_id, id) — the old row is archived first, version + 1
    object_updates: list[tuple[Any, ...]] = field(default_factory=list)
    #: (origin_id, object_id, source_hash, target_hash) of the contracts created, each with ``created``
    contract_inserts: list[tuple[Any, ...]] = field(default_factory=list)
    #: what every object and contract of ``object_inserts``/``contract_inserts`` shares
    created: Created | None = None
    #: (origin_id, object_id, source_hash, target_hash, mapping_version, schema_hash, updated_at)
    contract_updates: list[tuple[Any, ...]] = field(default_factory=list)
    #: origin ids seen unchanged (their contract's last_run_id moves to this run)
    touched: list[str] = field(default_factory=list)
    #: per-record run log entries: [origin_id, outcome, object_id, error]
    log: list[list[Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    #: the connector's state document (JSON text), when it changed since it was last saved
    connector_state: str | None = None
    #: connector memory keys set (with their values) and removed since the last batch
    memory_set: dict[str, Any] = field(default_factory=dict)
    memory_removed: set[str] = field(default_factory=set)
    #: hooks that write more rows in the same transaction (audit entries)
    extra: list[Callable[[Connection], None]] = field(default_factory=list)


class _SQL:
    """The hot-path statements in the dialect's parameter style."""

    def __init__(self, dialect: str) -> None:
        p = "%s" if dialect == "postgresql" else "?"
        self.pg = dialect == "postgresql"

        def marks(n: int) -> str:
            return ", ".join([p] * n)

        self.p = p
        self.insert_objects = BulkInsert(
            "objects",
            "id, data, origin_id",
            shared="register, schema, version, created_at, updated_at, pipeline, action, actor, run_id",
        )
        self.update_objects = (
            f"UPDATE objects SET data = {p}, version = version + 1, updated_at = {p}, deleted_at = NULL, "
            f"action = {p}, actor = {p}, run_id = {p} WHERE id = {p}"
        )
        self._archive = (
            "INSERT INTO object_versions (object_id, version, data, action, actor, run_id, created_at) "
            "SELECT id, version, data, action, actor, run_id, updated_at FROM objects WHERE "
        )
        self.insert_contracts = BulkInsert(
            "contracts",
            "origin_id, object_id, source_hash, target_hash",
            shared="pipeline, last_run_id, mapping_version, schema_hash, updated_at",
        )
        self.update_contracts = (
            f"UPDATE contracts SET last_run_id = {p}, object_id = {p}, source_hash = {p}, target_hash = {p}, "
            f"mapping_version = {p}, schema_hash = {p}, updated_at = {p}, deleted = 0 "
            f"WHERE pipeline = {p} AND origin_id = {p}"
        )
        self.insert_log = f"INSERT INTO run_records (run_id, seq, entries) VALUES ({marks(3)})"
        self._contracts = f"FROM contracts WHERE pipeline = {p} AND "
        self._touch = f"UPDATE contracts SET last_run_id = {p} WHERE pipeline = {p} AND "

    def _in(self, column: str, n: int) -> str:
        return f"{column} = ANY({self.p})" if self.pg else f"{column} IN ({', '.join(['?'] * n)})"

    def contracts_of(self, ids: list[str]) -> tuple[str, tuple[Any, ...]]:
        """``FROM ... WHERE`` of the contracts of ``ids`` and its parameters after the pipeline."""
        return self._contracts + self._in("origin_id", len(ids)), (ids,) if self.pg else tuple(ids)

    def archive(self, ids: list[str]) -> tuple[str, tuple[Any, ...]]:
        """Copy the current rows of ``ids`` into object_versions (before they are overwritten)."""
        return self._archive + self._in("id", len(ids)), (ids,) if self.pg else tuple(ids)

    def touch(self, ids: list[str]) -> tuple[str, tuple[Any, ...]]:
        return self._touch + self._in("origin_id", len(ids)), (ids,) if self.pg else tuple(ids)


def _rounds(updates: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """``updates`` (object id last) in rounds that hold each object once, in order: an object a batch
    changes twice is archived and updated, then archived and updated again, so the version between
    is kept in its history (archiving once before both updates lost it)."""
    if not updates:
        return []
    seen: dict[Any, int] = {}
    rounds: list[list[tuple[Any, ...]]] = [[]]
    for row in updates:
        n = seen[row[-1]] = seen.get(row[-1], -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(row)
    return rounds


#: records per :meth:`BatchWriter.lookup` statement on SQLite, and the step its sizes are rounded up
#: to (with pairs that match nothing) so that a run prepares a handful of statements, not one per size
_CLASSIFY_CHUNK = 1000
_CLASSIFY_STEP = 100
#: two bound values per record: SQLite's bound on them was 999 before 3.32 (2020), 32,766 since;
#: an older library takes load_contracts
_CAN_CLASSIFY = sqlite3.sqlite_version_info >= (3, 32)


@functools.lru_cache(maxsize=_CLASSIFY_CHUNK // _CLASSIFY_STEP)
def _classify_sql(n: int) -> str:
    """:meth:`BatchWriter.lookup`'s statement for ``n`` records: ?1 mapping version, ?2 schema hash,
    ?3 this run, ?4 the pipeline, then each record's origin id and source hash. The records go in
    as a VALUES list (as JSON, parsing them cost more than the probes); the cross join keeps them
    the outer loop, one probe of the contracts' key each, which the planner would otherwise turn
    into a scan of the pipeline's contracts."""
    values = ",".join(f"({i},?{5 + 2 * i},?{6 + 2 * i})" for i in range(n))
    same = (
        "c.source_hash = v.h AND c.mapping_version IS ?1 AND c.schema_hash IS ?2 AND c.deleted = 0 "
        "AND c.last_run_id IS NOT ?3"
    )
    columns = ", ".join("c." + c for c in CONTRACT_COLUMNS.split(", "))
    return (
        f"WITH v(k, o, h) AS (VALUES {values}) "
        f"SELECT json_group_array(json_array(v.k, c.object_id)) FILTER (WHERE {same}), "
        f"json_group_array(json_array({columns})) FILTER (WHERE NOT ({same})) "
        "FROM v CROSS JOIN contracts c ON c.pipeline = ?4 AND c.origin_id = v.o"
    )


class BatchWriter:
    def __init__(self, engine: Engine, pipeline: str, run_id: str) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.run_id = run_id
        self.sql = _SQL(engine.dialect.name)
        #: the last run-log row number this run wrote (the writer process carries it on)
        self.log_seq = 0
        self._checkpointer = checkpointer_for(engine)

    def lookup(
        self,
        origins: Sequence[str | None],
        hashes: Sequence[str],
        mapping_version: str | None,
        schema_hash: str | None,
    ) -> tuple[dict[str, ContractRow], dict[int, str]]:
        """The contracts of a batch's records, split in two: ``{index: object_id}`` of the records
        that are unchanged (their contract has their source hash, the run's mapping version and
        schema, is not deleted and was not yet seen in this run), and the full rows of the rest.

        An unchanged re-run's records are most of what a run looks up, and they need one value
        each: on SQLite the database compares the hashes and returns both groups as two JSON
        texts, so the engine's interpreter does not build and compare a row per record. Other
        databases take :meth:`load_contracts` (nothing split off).
        """
        known = [o for o in origins if o is not None]
        if not known:
            return {}, {}
        if self.sql.pg or not (_CAN_CLASSIFY and sqlite_has_json()):
            return self.load_contracts(known), {}
        contracts: dict[str, ContractRow] = {}
        unchanged: dict[int, str] = {}
        fixed = (mapping_version, schema_hash, self.run_id, self.pipeline)
        with self.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                for start in range(0, len(origins), _CLASSIFY_CHUNK):
                    chunk = origins[start : start + _CLASSIFY_CHUNK]
                    n = -(-len(chunk) // _CLASSIFY_STEP) * _CLASSIFY_STEP
                    pairs = zip(chunk, hashes[start : start + len(chunk)], strict=True)
                    padding = (None,) * (2 * (n - len(chunk)))  # pairs that match nothing
                    params = (*fixed, *itertools.chain.from_iterable(pairs), *padding)
                    cursor.execute(_classify_sql(n), params)
                    same, other = cursor.fetchone() or (None, None)  # an aggregate: always one row
                    if same:
                        unchanged.update((start + k, oid) for k, oid in jsonutil.loads(same))
                    if other:
                        contracts.update((r[ORIGIN], r) for r in jsonutil.loads(other))
            finally:
                cursor.close()
        return contracts, unchanged

    def load_contracts(self, origin_ids: Sequence[str]) -> dict[str, ContractRow]:
        out: dict[str, ContractRow] = {}
        unique = list(dict.fromkeys(origin_ids))
        with self.engine.connect() as conn:
            # The raw DBAPI cursor: SQLAlchemy's Row objects doubled the cost of this lookup.
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            sqlite = not self.sql.pg
            try:
                for i in range(0, len(unique), _IN_CHUNK):
                    rest, ids = self.sql.contracts_of(unique[i : i + _IN_CHUNK])
                    rows = select_rows(cursor, sqlite, CONTRACT_COLUMNS, rest, (self.pipeline, *ids))
                    out.update({r[ORIGIN]: r for r in rows})
            finally:
                cursor.close()
        return out

    def commit(self, w: BatchWrite) -> None:
        with self.engine.begin() as conn:
            self.write(conn, w)
        if self._checkpointer is not None:
            self._checkpointer.poke()

    def write(self, conn: Connection, w: BatchWrite) -> None:
        sql, run_id, pipeline = self.sql, self.run_id, self.pipeline
        created = w.created
        if w.object_inserts:
            assert created is not None, "object_inserts without what they share (BatchWrite.created)"
            sql.insert_objects(
                conn,
                w.object_inserts,
                (created.register, created.schema, 1, created.at, created.at, pipeline, "create",
                 created.actor, run_id),
            )  # fmt: skip
        for updates in _rounds(w.object_updates):  # each round: the version it replaces is archived
            self._archive(conn, [row[-1] for row in updates])
            conn.exec_driver_sql(sql.update_objects, updates)
        if w.contract_inserts:
            assert created is not None, "contract_inserts without what they share (BatchWrite.created)"
            sql.insert_contracts(
                conn,
                w.contract_inserts,
                (pipeline, run_id, created.mapping_version, created.schema_hash, created.at),
            )
        if w.contract_updates:
            conn.exec_driver_sql(
                sql.update_contracts, [(run_id, *row[1:], pipeline, row[0]) for row in w.contract_updates]
            )
        for i in range(0, len(w.touched), _IN_CHUNK):
            stmt, ids = sql.touch(w.touched[i : i + _IN_CHUNK])
            conn.exec_driver_sql(stmt, (run_id, pipeline, *ids))
        if w.log:
            self.log_seq += 1
            conn.exec_driver_sql(sql.insert_log, [(run_id, self.log_seq, jsonutil.dumps_str(w.log))])
        if w.quarantine:
            conn.execute(insert(t.quarantine), w.quarantine)
        if w.connector_state is not None:
            conn.execute(
                update(t.pipeline_state)
                .where(t.pipeline_state.c.pipeline == pipeline)
                .values(connector_state=w.connector_state)
            )
        if w.memory_set or w.memory_removed:
            write_memory(conn, pipeline, w.memory_set, w.memory_removed)
        for hook in w.extra:
            hook(conn)

    def _archive(self, conn: Connection, object_ids: list[str]) -> None:
        for i in range(0, len(object_ids), _IN_CHUNK):
            stmt, ids = self.sql.archive(list(dict.fromkeys(object_ids[i : i + _IN_CHUNK])))
            conn.exec_driver_sql(stmt, ids)

    def missing(self, limit: int = 1000) -> list[tuple[str, str]]:
        """(origin id, object id) of live objects this run did not see (for ``on_missing: delete``)."""
        p = self.sql.p
        stmt = (
            f"SELECT origin_id, object_id FROM contracts WHERE pipeline = {p} AND deleted = 0 "
            f"AND (last_run_id IS NULL OR last_run_id <> {p}) LIMIT {int(limit)}"
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.exec_driver_sql(stmt, (self.pipeline, self.run_id))]

    def delete(
        self, rows: Sequence[tuple[str, str]], now: str, extra: Sequence[Callable[[Connection], None]] = ()
    ) -> None:
        """Soft-delete objects (new version, history kept) and log them in the run; ``extra`` hooks
        write more rows in the same transaction (audit entries)."""
        p = self.sql.p
        actor = f"pipeline:{self.pipeline}"
        with self.engine.begin() as conn:
            self._archive(conn, [oid for _, oid in rows])
            conn.exec_driver_sql(
                f"UPDATE objects SET deleted_at = {p}, updated_at = {p}, version = version + 1, "
                f"action = 'delete', actor = {p}, run_id = {p} WHERE id = {p}",
                [(now, now, actor, self.run_id, oid) for _, oid in rows],
            )
            conn.exec_driver_sql(
                f"UPDATE contracts SET deleted = 1, last_run_id = {p} "
                f"WHERE pipeline = {p} AND origin_id = {p}",
                [(self.run_id, self.pipeline, origin) for origin, _ in rows],
            )
            self.log_seq += 1
            entries = [[origin, "deleted", oid, None] for origin, oid in rows]
            log_row = (self.run_id, self.log_seq, jsonutil.dumps_str(entries))
            conn.exec_driver_sql(self.sql.insert_log, [log_row])
            for hook in extra:
                hook(conn)
