"""service: API tokens, webhook attempts, schedule slots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("last_used_at", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("hash"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.Integer(), nullable=True),
        sa.Column("signature", sa.String(length=64), nullable=True),
        sa.Column("remote", sa.String(length=100), nullable=True),
        sa.Column("body_bytes", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_attempts") as batch_op:
        batch_op.create_index("ux_webhook_attempts_signature", ["pipeline", "signature"], unique=True)
        batch_op.create_index("ix_webhook_attempts_pipeline", ["pipeline", "received_at"], unique=False)
        batch_op.create_index("ix_webhook_attempts_state", ["state", "received_at"], unique=False)
    op.create_table(
        "schedule_slots",
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("schedule", sa.String(length=300), nullable=False),
        sa.Column("last_slot", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "schedule"),
    )


def downgrade() -> None:
    op.drop_table("schedule_slots")
    with op.batch_alter_table("webhook_attempts") as batch_op:
        batch_op.drop_index("ix_webhook_attempts_state")
        batch_op.drop_index("ix_webhook_attempts_pipeline")
        batch_op.drop_index("ux_webhook_attempts_signature")
    op.drop_table("webhook_attempts")
    op.drop_table("api_tokens")
