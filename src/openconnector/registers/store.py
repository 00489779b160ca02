"""The register store: registers, schemas and objects (with every version kept).

Reads and single-object writes live here; the pipeline engine's batched write path is
:mod:`openconnector.registers.batch`. The store knows no protocol and no mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Text,
    and_,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from openconnector import jsonutil
from openconnector.ids import uuid7
from openconnector.registers import tables as t
from openconnector.registers.checkpoint import stop_checkpointer
from openconnector.registers.db import make_engine
from openconnector.registers.migrate import migrate
from openconnector.registers.validation import CompiledSchema, SchemaError
from openconnector.timeutil import now_iso


class NotFound(LookupError):
    pass


class ValidationFailed(ValueError):
    def __init__(self, errors: list[SchemaError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def decode(value: Any) -> Any:
    """JSON column value → Python. Both backends hand back the text (``db.py``); a value already
    parsed (a dict or list from elsewhere) passes through."""
    if value is None or isinstance(value, (dict, list)):
        return value
    return jsonutil.loads(value)


def object_document(row: Any) -> dict[str, Any]:
    """An object as the API and CLI show it: its data plus ``@self`` metadata."""
    doc = dict(decode(row.data))
    doc["@self"] = {
        "id": row.id,
        "register": row.register,
        "schema": row.schema,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "deleted_at": row.deleted_at,
        "source": {"pipeline": row.pipeline, "origin_id": row.origin_id} if row.pipeline else None,
    }
    return doc


_META_ORDER = {"created_at", "updated_at", "version", "id"}


@dataclass
class Page:
    results: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        return {"results": self.results, "total": self.total, "limit": self.limit, "offset": self.offset}


class Store:
    """Facade over one database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str | None = None, *, base_dir: Path | None = None, engine: Engine | None = None):
        self.engine = engine or make_engine(url, base_dir)
        self.dialect = self.engine.dialect.name
        migrate(self.engine)
        self._compiled: dict[tuple[str, str], CompiledSchema] = {}

    def dispose(self) -> None:
        stop_checkpointer(self.engine)
        self.engine.dispose()

    # -- registers and schemas -------------------------------------------------------------------

    def sync_registers(
        self, registers: Mapping[str, str | None], schemas: Mapping[str, dict[str, Any]]
    ) -> None:
        """Make the stored registers/schemas match the configuration (new version when a schema changed)."""
        now = now_iso()
        with self.engine.begin() as conn:
            have = {r.name for r in conn.execute(select(t.registers.c.name))}
            for name, description in registers.items():
                if name not in have:
                    conn.execute(
                        insert(t.registers).values(name=name, description=description, created_at=now)
                    )
            for key, schema in schemas.items():
                register, name = key.split("/", 1)
                self._put_schema(conn, register, name, schema, now)

    def _put_schema(
        self, conn: Connection, register: str, name: str, schema: dict[str, Any], now: str
    ) -> str:
        digest = jsonutil.content_hash(schema)
        row = conn.execute(
            select(t.schemas.c.hash, t.schemas.c.version).where(
                t.schemas.c.register == register, t.schemas.c.name == name
            )
        ).first()
        if row is None:
            conn.execute(
                insert(t.schemas).values(
                    register=register,
                    name=name,
                    schema=jsonutil.dumps_str(schema),
                    hash=digest,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif row.hash != digest:
            conn.execute(
                update(t.schemas)
                .where(t.schemas.c.register == register, t.schemas.c.name == name)
                .values(
                    schema=jsonutil.dumps_str(schema), hash=digest, version=row.version + 1, updated_at=now
                )
            )
        return digest

    def put_register(self, name: str, description: str | None = None) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(t.registers.c.name).where(t.registers.c.name == name)).first() is None:
                conn.execute(
                    insert(t.registers).values(name=name, description=description, created_at=now_iso())
                )
            else:
                conn.execute(
                    update(t.registers).where(t.registers.c.name == name).values(description=description)
                )

    def put_schema(self, register: str, name: str, schema: dict[str, Any]) -> str:
        CompiledSchema(schema)  # raises InvalidSchema before anything is stored
        with self.engine.begin() as conn:
            if conn.execute(select(t.registers.c.name).where(t.registers.c.name == register)).first() is None:
                raise NotFound(f"register {register!r} does not exist")
            digest = self._put_schema(conn, register, name, schema, now_iso())
        self._compiled.pop((register, name), None)
        return digest

    def list_registers(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            regs = conn.execute(select(t.registers).order_by(t.registers.c.name)).all()
            sch = conn.execute(
                select(t.schemas.c.register, t.schemas.c.name).order_by(t.schemas.c.name)
            ).all()
        by_reg: dict[str, list[str]] = {}
        for s in sch:
            by_reg.setdefault(s.register, []).append(s.name)
        return [
            {
                "name": r.name,
                "description": r.description,
                "schemas": by_reg.get(r.name, []),
                "created_at": r.created_at,
            }
            for r in regs
        ]

    def get_schema(self, register: str, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.schemas).where(t.schemas.c.register == register, t.schemas.c.name == name)
            ).first()
        if row is None:
            raise NotFound(f"schema {register}/{name} does not exist")
        return {
            "register": register,
            "name": name,
            "version": row.version,
            "hash": row.hash,
            "schema": decode(row.schema),
            "updated_at": row.updated_at,
        }

    def compiled_schema(self, register: str, name: str) -> CompiledSchema:
        schema = self.get_schema(register, name)
        cached = self._compiled.get((register, name))
        if cached is None or cached.hash != schema["hash"]:
            cached = CompiledSchema(schema["schema"])
            self._compiled[(register, name)] = cached
        return cached

    # -- objects ------------------------------------------------------------------------------------

    def _json_text(self, parts: list[str]) -> ColumnElement[Any]:
        """The JSON text of a nested field (``true``, ``5``, ``"x"``) on either backend."""
        if self.dialect == "postgresql":
            return _pg_path(parts).cast(Text)
        return literal_column("data").op("->")(literal(_sqlite_path(parts)))

    def _json_value(self, parts: list[str]) -> ColumnElement[Any]:
        """A sortable SQL value of a nested field."""
        if self.dialect == "postgresql":
            return _pg_path(parts)
        return func.json_extract(literal_column("data"), _sqlite_path(parts))

    def _filter(self, field: str, value: str) -> ColumnElement[bool]:
        expr = self._json_text(jsonutil.split_path(field))
        candidates = {jsonutil.dumps_str(value)}
        try:
            parsed = jsonutil.loads(value)
        except ValueError:
            parsed = None
        else:
            if not isinstance(parsed, (dict, list, str)):
                candidates.add(jsonutil.dumps_str(parsed))
        if value == "null":
            return or_(expr.is_(None), expr == "null")
        return expr.in_(sorted(candidates))

    def list_objects(
        self,
        register: str,
        schema: str,
        *,
        filters: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        limit: int = 20,
        offset: int = 0,
        order: str | None = None,
        include_deleted: bool = False,
    ) -> Page:
        """Objects of one schema, with equality filters on (nested) fields, paging and ordering.

        ``order``: a field dot-path, or ``@self.created_at``/``@self.updated_at``/``@self.version``;
        prefix ``-`` for descending. Several comma-separated.
        """
        o = t.objects
        conds: list[ColumnElement[bool]] = [o.c.register == register, o.c.schema == schema]
        if not include_deleted:
            conds.append(o.c.deleted_at.is_(None))
        pairs = filters.items() if isinstance(filters, Mapping) else filters
        conds.extend(self._filter(k, v) for k, v in pairs)
        where = and_(*conds)
        order_by: list[Any] = []
        for item in (order or "").split(","):
            item = item.strip()
            if not item:
                continue
            desc = item.startswith("-")
            key = item.lstrip("-+")
            if key.startswith("@self."):
                meta = key[len("@self.") :]
                if meta not in _META_ORDER:
                    raise ValueError(
                        f"cannot order by {key!r}; use one of "
                        + ", ".join(f"@self.{m}" for m in sorted(_META_ORDER))
                    )
                col: Any = o.c[meta]
            else:
                col = self._json_value(jsonutil.split_path(key))
            order_by.append(col.desc() if desc else col.asc())
        order_by += [o.c.created_at.asc(), o.c.id.asc()]
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(o).where(where)).scalar_one()
            rows = conn.execute(select(o).where(where).order_by(*order_by).limit(limit).offset(offset)).all()
        return Page([object_document(r) for r in rows], total, limit, offset)

    def get_object(self, object_id: str, *, include_deleted: bool = True) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.objects).where(t.objects.c.id == object_id)).first()
        if row is None or (row.deleted_at and not include_deleted):
            raise NotFound(f"object {object_id} does not exist")
        return object_document(row)

    def object_history(self, object_id: str) -> list[dict[str, Any]]:
        """Every version of an object, newest first (the current row, then the archived ones)."""
        ov = t.object_versions
        with self.engine.connect() as conn:
            current = conn.execute(select(t.objects).where(t.objects.c.id == object_id)).first()
            rows = conn.execute(
                select(ov).where(ov.c.object_id == object_id).order_by(ov.c.version.desc())
            ).all()
        if current is None:
            raise NotFound(f"object {object_id} does not exist")
        versions = [
            {
                "version": current.version,
                "action": current.action,
                "actor": current.actor,
                "run_id": current.run_id,
                "created_at": current.updated_at,
                "data": decode(current.data),
            }
        ]
        versions += [
            {
                "version": r.version,
                "action": r.action,
                "actor": r.actor,
                "run_id": r.run_id,
                "created_at": r.created_at,
                "data": decode(r.data),
            }
            for r in rows
        ]
        return versions

    def count_objects(self, register: str, schema: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(t.objects)
                    .where(
                        t.objects.c.register == register,
                        t.objects.c.schema == schema,
                        t.objects.c.deleted_at.is_(None),
                    )
                ).scalar_one()
            )

    def save_object(
        self,
        register: str,
        schema: str,
        data: dict[str, Any],
        *,
        object_id: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Create or replace one object through the API: validated, versioned, history kept."""
        errors = self.compiled_schema(register, schema).errors(data)
        if errors:
            raise ValidationFailed(errors)
        from openconnector.audit import AuditChange, AuditTrail

        trail = AuditTrail.for_engine(self.engine)
        now = now_iso()
        body = jsonutil.dumps_str(data)
        o = t.objects
        with self.engine.begin() as conn:
            row = None
            if object_id is not None:
                row = conn.execute(select(o).where(o.c.id == object_id).with_for_update()).first()
                if row is None or row.register != register or row.schema != schema:
                    raise NotFound(f"object {object_id} does not exist in {register}/{schema}")
            if row is None:
                object_id = uuid7()
                conn.execute(
                    insert(o).values(
                        id=object_id,
                        register=register,
                        schema=schema,
                        data=body,
                        version=1,
                        created_at=now,
                        updated_at=now,
                        action="create",
                        actor=actor,
                    )
                )
            else:
                assert object_id is not None
                self._archive(conn, object_id)
                conn.execute(
                    update(o)
                    .where(o.c.id == object_id)
                    .values(
                        data=body,
                        version=row.version + 1,
                        updated_at=now,
                        deleted_at=None,
                        action="restore" if row.deleted_at else "update",
                        actor=actor,
                        run_id=None,
                    )
                )
            # The audit entry commits (or rolls back) with the change it records.
            action = "create" if row is None else "restore" if row.deleted_at else "update"
            before = None if row is None else decode(row.data)
            version_before = None if row is None else row.version
            assert object_id is not None
            change = AuditChange(
                object_id, register, schema, action, version_before, (version_before or 0) + 1, before, data,
                actor or "api",
            )  # fmt: skip
            trail.append(conn, [change])
        trail.after_commit()
        return self.get_object(object_id)

    def delete_object(self, object_id: str, *, actor: str | None = None) -> None:
        """Soft delete: the object disappears from listings, its history stays."""
        from openconnector.audit import AuditChange, AuditTrail

        trail = AuditTrail.for_engine(self.engine)
        now = now_iso()
        o = t.objects
        with self.engine.begin() as conn:
            row = conn.execute(select(o).where(o.c.id == object_id).with_for_update()).first()
            if row is None or row.deleted_at:
                raise NotFound(f"object {object_id} does not exist")
            self._archive(conn, object_id)
            conn.execute(
                update(o)
                .where(o.c.id == object_id)
                .values(
                    deleted_at=now,
                    updated_at=now,
                    version=row.version + 1,
                    action="delete",
                    actor=actor,
                    run_id=None,
                )
            )
            change = AuditChange(
                object_id, row.register, row.schema, "delete", row.version, row.version + 1, decode(row.data),
                None, actor or "api",
            )  # fmt: skip
            trail.append(conn, [change])
        trail.after_commit()

    @staticmethod
    def _mark_contract(conn: Connection, row: Any, *, deleted: bool) -> None:
        """Keep the pipeline's contract in step with an API delete/restore of a pipeline object."""
        c = t.contracts
        conn.execute(
            update(c)
            .where(c.c.pipeline == row.pipeline, c.c.origin_id == row.origin_id)
            .values(deleted=int(deleted))
        )

    @staticmethod
    def _archive(conn: Connection, object_id: str) -> None:
        o, ov = t.objects, t.object_versions
        conn.execute(
            insert(ov).from_select(
                ["object_id", "version", "data", "action", "actor", "run_id", "created_at"],
                select(
                    o.c.id, o.c.version, o.c.data, o.c.action, o.c.actor, o.c.run_id, o.c.updated_at
                ).where(o.c.id == object_id),
            )
        )

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def _pg_path(parts: list[str]) -> ColumnElement[Any]:
    """``data #> '{a,b}'`` on PostgreSQL. Its dialect is imported here, not with the store: a run
    on SQLite does not need it (2.3 MB and ~25 ms at every start)."""
    from sqlalchemy.dialects.postgresql import ARRAY

    return literal_column("data").op("#>")(literal(parts, ARRAY(Text)))


def _sqlite_path(parts: list[str]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if p.isdigit() else '."' + p.replace('"', '\\"') + '"'
    return out
