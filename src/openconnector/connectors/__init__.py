"""Connector registry: protocol name → connector class.

Built-in protocols are imported lazily (a pipeline reading files never imports Kafka's client). A
third-party connector registers itself with :func:`register` or an ``openconnector.connectors``
entry point.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from openconnector.connectors.base import (
    Batch,
    Connector,
    ConnectorError,
    ReadBase,
    ReadContext,
    RecordError,
    SourceBase,
)

__all__ = [
    "Batch",
    "Connector",
    "ConnectorError",
    "ReadBase",
    "ReadContext",
    "RecordError",
    "SourceBase",
    "connector_types",
    "get_connector",
    "register",
]

#: type → module that defines (and registers) it
BUILTIN: dict[str, str] = {
    "rest": "openconnector.connectors.rest",
    "soap": "openconnector.connectors.soap",
    "graphql": "openconnector.connectors.graphql",
    "files": "openconnector.connectors.files",
    "ftp": "openconnector.connectors.ftp",
    "sftp": "openconnector.connectors.sftp",
    "rabbitmq": "openconnector.connectors.rabbitmq",
    "kafka": "openconnector.connectors.kafka",
    "postgresql": "openconnector.connectors.sql",
    "mysql": "openconnector.connectors.sql",
    "mssql": "openconnector.connectors.sql",
    "webhook": "openconnector.triggers.source",
}

_REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make ``cls`` available under ``cls.type``."""
    _REGISTRY[cls.type] = cls
    return cls


def connector_types() -> list[str]:
    """Every type a source may have (built-in, registered and entry points)."""
    names = set(BUILTIN) | set(_REGISTRY)
    names |= {ep.name for ep in entry_points(group="openconnector.connectors")}
    return sorted(names)


def get_connector(type_: str) -> type[Connector]:
    """The connector class for ``type_``; ``KeyError`` with the known types if there is none."""
    if type_ in _REGISTRY:
        return _REGISTRY[type_]
    module = BUILTIN.get(type_)
    if module is not None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("openconnector"):
                raise KeyError(f"source type {type_!r} is not available in this build") from exc
            raise
    else:
        for ep in entry_points(group="openconnector.connectors"):
            if ep.name == type_:
                register(ep.load())
    if type_ not in _REGISTRY:
        raise KeyError(f"unknown source type {type_!r}; known: {', '.join(connector_types())}")
    return _REGISTRY[type_]
