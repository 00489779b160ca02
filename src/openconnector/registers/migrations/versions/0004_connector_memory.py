"""connector memory: one row per remembered key (the files an ``after: keep`` drop processed)

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29 02:30:00

Before this, a file drop kept its memory as one JSON document in ``pipeline_state.connector_state``
(``{"files": {path: {...}}}``). The files connector moves such a document into these rows on its
next run (see ``openconnector.connectors.files.select.remembered``), so no data step runs here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector_memory",
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "key"),
    )


def downgrade() -> None:
    op.drop_table("connector_memory")
