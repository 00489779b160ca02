"""psycopg loaders that turn PostgreSQL ``infinity`` dates into a marker instead of failing the fetch.

psycopg raises ``DataError`` for a date Python cannot hold (``infinity``, years past 9999), which
would abort the whole read at that batch. With these loaders the value arrives as
:class:`~openconnector.connectors.sql.convert.Unloadable`, and only its row is quarantined, with
the column named. They wrap psycopg's own (C) loaders, so ordinary values are parsed by psycopg.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.adapt import Buffer, Loader
from psycopg.pq import Format

from openconnector.connectors.sql.convert import Unloadable

_KINDS = {"date": "date", "timestamp": "timestamp", "timestamptz": "timestamp with time zone"}


def _safe_loader(type_name: str) -> type[Loader]:
    oid = psycopg.adapters.types[type_name].oid
    found = psycopg.adapters.get_loader(oid, Format.TEXT)
    if found is None:  # pragma: no cover - psycopg always has these
        raise RuntimeError(f"psycopg has no loader for {type_name}")
    inner_cls: Any = found
    kind = _KINDS[type_name]

    class SafeLoader(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._inner = inner_cls(oid, context)

        def load(self, data: Buffer) -> Any:
            try:
                return self._inner.load(data)
            except psycopg.DataError:
                return Unloadable(bytes(data).decode("utf-8", "replace"), kind)

    SafeLoader.__name__ = f"Safe{type_name.capitalize()}Loader"
    return SafeLoader


_LOADERS = {name: _safe_loader(name) for name in _KINDS}


def install(dbapi_connection: Any) -> None:
    """Register the loaders on one psycopg connection (SQLAlchemy ``connect`` event)."""
    for name, loader in _LOADERS.items():
        dbapi_connection.adapters.register_loader(name, loader)
