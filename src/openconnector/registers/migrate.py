"""Bring the store's schema to the newest Alembic revision (idempotent, cheap when current).

Every run opens the store, and nearly always it is current. Alembic is imported only when it is
not: importing it (with Mako) and parsing the scripts to learn the heads cost every run ~12 MB of
memory and a tenth of a second. :data:`HEADS` says what current is; a test keeps it equal to what
Alembic finds in ``migrations/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: the newest revision of each branch (feature areas add migrations on their own branch from 0001)
HEADS = frozenset({"0002", "0003", "0004"})


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def stored_heads(engine: Engine) -> set[str]:
    """The revisions the database says it has (none for a new database)."""
    with engine.connect() as conn:
        try:
            return {str(r[0]) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        except DBAPIError:  # no such table yet
            return set()


def migrate(engine: Engine) -> None:
    if stored_heads(engine) == HEADS:
        return
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
