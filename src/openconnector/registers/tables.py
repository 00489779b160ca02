"""The store's tables (SQLAlchemy Core). Alembic migrations create them; this module names them.

JSON documents are bound as pre-encoded text (orjson, once per record) and kept as TEXT on
SQLite and JSONB on PostgreSQL, so filters on nested fields work on both and no JSON encoder runs
per row inside SQLAlchemy. Timestamps are ISO-8601 UTC strings (sortable, portable).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import UserDefinedType

metadata = MetaData()


class _JSONBText(UserDefinedType[Any]):
    """JSONB column that takes already-encoded JSON text (PostgreSQL casts it on insert)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"


JSONText = Text().with_variant(_JSONBText(), "postgresql")

registers = Table(
    "registers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("description", Text),
    Column("created_at", String(32), nullable=False),
)

schemas = Table(
    "schemas",
    metadata,
    Column("register", String(100), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("schema", JSONText, nullable=False),
    Column("hash", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

objects = Table(
    "objects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("register", String(100), nullable=False),
    Column("schema", String(100), nullable=False),
    Column("data", JSONText, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("deleted_at", String(32)),
    Column("pipeline", String(200)),
    Column("origin_id", Text),
    # who made the current version; superseded versions move to object_versions
    Column("action", String(16), nullable=False),
    Column("actor", String(200)),
    Column("run_id", String(36)),
    Index("ix_objects_register_schema", "register", "schema", "created_at"),
)

object_versions = Table(
    # Every superseded version of an object (the current one is the objects row itself): an update
    # copies the old row here inside the database, so no document crosses the wire twice.
    "object_versions",
    metadata,
    Column("object_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("data", JSONText),
    Column("action", String(16), nullable=False),
    Column("actor", String(200)),
    Column("run_id", String(36)),
    Column("created_at", String(32), nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("origin_id", String(500), primary_key=True),
    Column("object_id", String(36), nullable=False),
    Column("source_hash", String(32), nullable=False),
    Column("target_hash", String(32), nullable=False),
    Column("mapping_version", String(32)),
    Column("schema_hash", String(32)),
    Column("last_run_id", String(36)),
    Column("updated_at", String(32), nullable=False),
    # mirrors objects.deleted_at so a batch's contract lookup needs no join
    Column("deleted", Integer, nullable=False, server_default="0"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pipeline", String(200), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("counts", JSONText, nullable=False),
    Column("errors", JSONText, nullable=False),
    Column("warnings", JSONText, nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("duration_s", Text),
    Column("dry_run", Integer, nullable=False, default=0),
    Index("ix_runs_pipeline_started", "pipeline", "started_at"),
    Index("ix_runs_started", "started_at"),
)

run_records = Table(
    # The per-record run log, one row per batch: ``entries`` is a JSON list of
    # [origin_id, outcome, object_id, error]. A row per record cost more than the records themselves.
    "run_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("entries", JSONText, nullable=False),
    Index("ix_run_records_run", "run_id", "seq"),
)


quarantine = Table(
    "quarantine",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pipeline", String(200), nullable=False),
    Column("run_id", String(36), nullable=False),
    Column("origin_id", Text),
    Column("raw", JSONText),
    Column("meta", JSONText),
    Column("errors", JSONText, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("mapping", String(200)),
    Column("mapping_version", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolved_run_id", String(36)),
    Index("ix_quarantine_pipeline_status", "pipeline", "status"),
)

pipeline_state = Table(
    "pipeline_state",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("cursor", JSONText),
    Column("connector_state", JSONText),
    Column("last_read", Integer),
    Column("lock_run_id", String(36)),
    Column("lock_expires_at", String(32)),
    Column("updated_at", String(32), nullable=False),
)

connector_memory = Table(
    # What a pipeline's connector remembers, one row per key (migration 0004): the files an
    # ``after: keep`` drop has processed. See openconnector.connectors.memory.
    "connector_memory",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)


# -- service (migration 0002): API tokens, webhook attempts, schedule slots ------------------------

api_tokens = Table(
    # Only the SHA-256 of a token is kept: the token itself is shown once, when it is created.
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("last_used_at", String(32)),
    Column("revoked_at", String(32)),
)

webhook_attempts = Table(
    # Every POST /hooks/{pipeline}, accepted or not. An accepted delivery that carries records keeps
    # its body until the run that processes it has finished (``state`` pending → done), so records
    # answered with 202 survive a crash. ``signature`` is unique per pipeline: a replay is refused.
    "webhook_attempts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pipeline", String(200), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("message", Text),
    Column("signed_at", Integer),
    Column("signature", String(64)),
    Column("remote", String(100)),
    Column("body_bytes", Integer, nullable=False, default=0),
    Column("records", Integer),
    Column("run_id", String(36)),
    Column("state", String(16)),
    Column("body", Text),
    Index("ux_webhook_attempts_signature", "pipeline", "signature", unique=True),
    Index("ix_webhook_attempts_pipeline", "pipeline", "received_at"),
    Index("ix_webhook_attempts_state", "state", "received_at"),
)

schedule_slots = Table(
    # The last cron slot fired per (pipeline, schedule): a conditional UPDATE claims a slot, so two
    # servers never fire the same slot and a slot missed while no server ran is fired once.
    "schedule_slots",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("schedule", String(300), primary_key=True),
    Column("last_slot", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
