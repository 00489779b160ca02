"""initial store

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON documents: TEXT on SQLite, JSONB on PostgreSQL (see tables.py).
JSON_TEXT = sa.Text().with_variant(postgresql.JSONB(), "postgresql")


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "contracts",
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("origin_id", sa.String(length=500), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("source_hash", sa.String(length=32), nullable=False),
        sa.Column("target_hash", sa.String(length=32), nullable=False),
        sa.Column("mapping_version", sa.String(length=32), nullable=True),
        sa.Column("schema_hash", sa.String(length=32), nullable=True),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("deleted", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "origin_id"),
    )
    op.create_table(
        "object_versions",
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", JSON_TEXT, nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("object_id", "version"),
    )
    op.create_table(
        "objects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("register", sa.String(length=100), nullable=False),
        sa.Column("schema", sa.String(length=100), nullable=False),
        sa.Column("data", JSON_TEXT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("deleted_at", sa.String(length=32), nullable=True),
        sa.Column("pipeline", sa.String(length=200), nullable=True),
        sa.Column("origin_id", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_objects_register_schema", ["register", "schema", "created_at"], unique=False
        )

    op.create_table(
        "pipeline_state",
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("cursor", JSON_TEXT, nullable=True),
        sa.Column("connector_state", JSON_TEXT, nullable=True),
        sa.Column("last_read", sa.Integer(), nullable=True),
        sa.Column("lock_run_id", sa.String(length=36), nullable=True),
        sa.Column("lock_expires_at", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pipeline"),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("origin_id", sa.Text(), nullable=True),
        sa.Column("raw", JSON_TEXT, nullable=True),
        sa.Column("meta", JSON_TEXT, nullable=True),
        sa.Column("errors", JSON_TEXT, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("mapping", sa.String(length=200), nullable=True),
        sa.Column("mapping_version", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_pipeline_status", ["pipeline", "status"], unique=False)

    op.create_table(
        "registers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "run_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entries", JSON_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("run_records", schema=None) as batch_op:
        batch_op.create_index("ix_run_records_run", ["run_id", "seq"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", JSON_TEXT, nullable=False),
        sa.Column("errors", JSON_TEXT, nullable=False),
        sa.Column("warnings", JSON_TEXT, nullable=False),
        sa.Column("started_at", sa.String(length=32), nullable=False),
        sa.Column("finished_at", sa.String(length=32), nullable=True),
        sa.Column("duration_s", sa.Text(), nullable=True),
        sa.Column("dry_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_pipeline_started", ["pipeline", "started_at"], unique=False)
        batch_op.create_index("ix_runs_started", ["started_at"], unique=False)

    op.create_table(
        "schemas",
        sa.Column("register", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("schema", JSON_TEXT, nullable=False),
        sa.Column("hash", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("register", "name"),
    )


def downgrade() -> None:

    op.drop_table("schemas")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_started")
        batch_op.drop_index("ix_runs_pipeline_started")

    op.drop_table("runs")
    with op.batch_alter_table("run_records", schema=None) as batch_op:
        batch_op.drop_index("ix_run_records_run")

    op.drop_table("run_records")
    op.drop_table("registers")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_pipeline_status")

    op.drop_table("quarantine")
    op.drop_table("pipeline_state")
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.drop_index("ix_objects_register_schema")

    op.drop_table("objects")
    op.drop_table("object_versions")
    op.drop_table("contracts")
