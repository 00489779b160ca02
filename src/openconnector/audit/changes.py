"""Building audit changes where the writes happen: a pipeline batch, a pipeline's deletes.

The engine knows each created/updated object's new document; what it replaces is loaded here with
one ``SELECT id, version, data FROM objects WHERE id IN (…)`` per batch, for updated and restored
objects only (a first load never pays for it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypedDict

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from openconnector.audit.entries import AuditChange, Prepared, prepare
from openconnector.audit.trail import AuditTrail
from openconnector.jsonutil import loads
from openconnector.registers.rows import select_rows

_CHUNK = 900  # SQLite's bound-parameter limit on old builds

#: (object_id, action, new document, origin_id, canonical JSON of the document), in record order
Item = tuple[str, str, dict[str, Any], str | None, bytes | None]


def _decode(value: Any) -> Any:
    return value if value is None or isinstance(value, (dict, list)) else loads(value)


def _select(cursor: Any, paramstyle: str, columns: str, ids: list[str]) -> list[Any]:
    rows: list[Any] = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        if paramstyle == "qmark":  # SQLite: one step for all rows (registers/rows.py)
            where = f"FROM objects WHERE id IN ({', '.join('?' * len(chunk))})"
            rows.extend(select_rows(cursor, True, columns, where, chunk))
        else:
            cursor.execute(f"SELECT {columns} FROM objects WHERE id = ANY(%s)", (chunk,))
            rows.extend(cursor.fetchall())
    return rows


def current_documents(engine: Engine, object_ids: Sequence[str]) -> dict[str, tuple[int, Any]]:
    """``object id → (version, data)`` as stored now."""
    ids = list(dict.fromkeys(object_ids))
    if not ids:
        return {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = _select(cursor, engine.dialect.paramstyle, "id, version, data", ids)
        cursor.close()
    finally:
        raw.rollback()
        raw.close()
    return {r[0]: (int(r[1]), _decode(r[2])) for r in rows}


class BatchHeader(TypedDict):
    """What every audit entry of a pipeline's batch shares: its header's fields."""

    register: str
    schema: str
    actor: str
    run_id: str
    pipeline: str
    source: str | None
    mapping: str | None
    mapping_version: str | None


def header_key(h: BatchHeader) -> tuple[Any, ...]:
    """The entries' header key (:meth:`AuditChange.header_key`'s, for
    :meth:`AuditTrail.append_prepared`)."""
    return (h["actor"], h["run_id"], h["pipeline"], h["source"], h["mapping"], h["mapping_version"],
            h["register"], h["schema"])  # fmt: skip


def batch_entries(
    engine: Engine, items: Sequence[Item], header: BatchHeader
) -> tuple[tuple[Any, ...], list[Prepared]]:
    """The header key and prepared entries of one batch's creates, updates and restores (for
    :meth:`AuditTrail.append_prepared`). What an update replaces is loaded here, in one query."""
    current = current_documents(engine, [i[0] for i in items if i[1] != "create"])
    h = header
    out: list[Prepared] = []
    for object_id, action, data, origin, canon in items:
        if action == "create" and object_id not in current:
            current[object_id] = (1, data)  # a later duplicate in this batch updates this version
            out.append((object_id, None, canon, origin))
            continue
        version_before, before = current.get(object_id, (None, None))
        version_after = (version_before or 0) + 1
        current[object_id] = (version_after, data)
        change = AuditChange(
            object_id, h["register"], h["schema"], action, version_before, version_after, before, data,
            h["actor"], h["run_id"], h["pipeline"], h["source"], origin, h["mapping"], h["mapping_version"],
        )  # fmt: skip
        out.append(prepare(change))
    return header_key(header), out


def create_entries(object_inserts: Sequence[tuple[Any, ...]], canons: Sequence[bytes]) -> list[Prepared]:
    """The prepared entries of a batch that only creates: one per created object, from the
    batch's ``object_inserts`` rows (id, body, origin id) and their documents' canonical bytes,
    in the same order. What :func:`batch_entries` gives for such a batch, built where the entries
    are written, so that only the canonical bytes cross to the writer process."""
    return [(row[0], None, canon, row[2]) for row, canon in zip(object_inserts, canons, strict=True)]


def deletion_hook(
    trail: AuditTrail,
    rows: Sequence[tuple[str, str]],
    *,
    actor: str,
    run_id: str,
    pipeline: str,
    source: str | None,
) -> Callable[[Connection], None]:
    """A hook for the delete transaction: it runs after the soft delete, inside the same transaction
    (the deleted document stays in ``objects.data``; the version was already raised)."""
    origins = {object_id: origin for origin, object_id in rows}

    def hook(conn: Connection) -> None:
        cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            found = _select(
                cursor, conn.dialect.paramstyle, "id, register, schema, version, data", list(origins)
            )
        finally:
            cursor.close()
        changes = [
            AuditChange(
                r[0],
                r[1],
                r[2],
                "delete",
                int(r[3]) - 1,
                int(r[3]),
                _decode(r[4]),
                None,
                actor,
                run_id,
                pipeline,
                source,
                origins[r[0]],
            )
            for r in sorted(found, key=lambda r: r[0])
        ]
        trail.append(conn, changes)

    return hook
