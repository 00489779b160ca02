"""Store migrations: a new database gets every branch's head; a current one is left alone
without importing Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from openconnector.registers.migrate import HEADS, alembic_config, migrate, stored_heads


def test_heads_names_every_branch_head_of_the_migration_scripts() -> None:
    """Adding a migration means naming it in HEADS: otherwise every run would call Alembic."""
    from alembic.script import ScriptDirectory

    assert set(ScriptDirectory.from_config(alembic_config()).get_heads()) == HEADS


def test_a_new_database_is_migrated_to_the_heads_and_then_left_alone(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    try:
        migrate(engine)  # the store fixture's database may be new or already current
        assert stored_heads(engine) == HEADS
        with engine.connect() as conn:  # the tables of every branch are there
            for table in ("objects", "audit_entries", "connector_memory"):
                conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
        migrate(engine)
        assert stored_heads(engine) == HEADS
    finally:
        engine.dispose()


def test_an_empty_database_has_no_heads(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert stored_heads(engine) == set()


def test_opening_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    probe = (
        "import sys; from openconnector.registers import Store; Store({url!r}).dispose();"
        "print('alembic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", probe.format(url=url)], capture_output=True, text=True)
    again = subprocess.run([sys.executable, "-c", probe.format(url=url)], capture_output=True, text=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False"), first.stderr + again.stderr
