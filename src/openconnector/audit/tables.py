"""The audit trail's tables. They share the store's ``metadata`` and come from migration 0003.

``audit_entries.body`` is the canonical JSON that is hashed — the truth; ``object_id`` is a copy
for the history index, and verification checks it still agrees with the body. What every entry
of one write shares (actor, run, pipeline, source, mapping, register/schema, time) is stored and
hashed once per group, in the group's ``audit_checkpoints`` row, whose ``header`` is chained in
just before the group's first entry. ``audit_head`` is the single row writers lock to extend the
chain.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from openconnector.registers.tables import metadata

#: SQLite: INTEGER PRIMARY KEY is the rowid itself (no second index); PostgreSQL: BIGINT.
Seq = BigInteger().with_variant(Integer(), "sqlite")

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("object_id", String(36), nullable=False),
    Index("ix_audit_entries_object", "object_id", "seq"),
)

audit_checkpoints = Table(
    # One row per group of entries (one batch, one API write): its shared header and the signed
    # checkpoint of the chain at the group's last entry.
    "audit_checkpoints",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("header", Text, nullable=False),
    Column("header_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(64), nullable=False),
    Index("ix_audit_checkpoints_created", "created_at"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chain_id", String(36), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated_at", String(32)),
)
