"""Create, read, replace and delete one block of a configuration section (sources, mappings,
pipelines, registers) through :class:`~openconnector.api.configfile.ConfigFile`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openconnector.api.configfile import ConfigInvalid
from openconnector.api.errors import ApiError, not_found
from openconnector.api.masking import mask, secret_paths, unmask
from openconnector.api.service import Service

SINGULAR = {"sources": "source", "mappings": "mapping", "pipelines": "pipeline", "registers": "register"}

Extra = Callable[[Service, str], dict[str, Any]]


def _section(raw: dict[str, Any], section: str) -> dict[str, Any]:
    value = raw.get(section)
    if not isinstance(value, dict):
        value = {}
        raw[section] = value
    return value


def present(
    service: Service, section: str, name: str, block: Any, extra: Extra | None = None
) -> dict[str, Any]:
    """The block as written, secrets masked, with ``@self`` metadata."""
    shown = mask(block if isinstance(block, dict) else {}, (section, name), secret_paths(service.project))
    meta = {"name": name}
    if extra is not None:
        meta.update(extra(service, name))
    return {**shown, "@self": meta}


def list_blocks(service: Service, section: str, extra: Extra | None = None) -> list[dict[str, Any]]:
    raw = service.config.raw()
    items = raw.get(section) if isinstance(raw.get(section), dict) else {}
    assert isinstance(items, dict)
    return [present(service, section, str(name), block, extra) for name, block in items.items()]


def get_block(service: Service, section: str, name: str) -> Any:
    raw = service.config.raw()
    items = raw.get(section)
    if not isinstance(items, dict) or name not in items:
        raise not_found(f"{SINGULAR[section]} {name!r} does not exist")
    return items[name]


def put_block(
    service: Service, section: str, name: str, body: dict[str, Any], *, create: bool | None = None
) -> bool:
    """Write ``body`` as the block ``name``; returns whether it was created. ``create=True``
    refuses to replace, ``create=False`` refuses to create."""
    body = {k: v for k, v in body.items() if k != "@self"}
    created = False

    def change(raw: dict[str, Any]) -> None:
        nonlocal created
        items = _section(raw, section)
        old = items.get(name)
        if create is True and name in items:
            raise ApiError(409, "exists", f"{SINGULAR[section]} {name!r} exists already; PUT replaces it")
        if create is False and name not in items:
            raise not_found(f"{SINGULAR[section]} {name!r} does not exist")
        created = name not in items
        items[name] = unmask(body, old)

    update(service, change)
    return created


def delete_block(service: Service, section: str, name: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        items = _section(raw, section)
        if name not in items:
            raise not_found(f"{SINGULAR[section]} {name!r} does not exist")
        del items[name]
        if not items:
            del raw[section]

    update(service, change)


def update(service: Service, change: Callable[[dict[str, Any]], Any], *, write_config: bool = True) -> None:
    try:
        service.config.update(change, write_config=write_config)
    except ConfigInvalid as exc:
        n = len(exc.problems)
        raise ApiError(
            422,
            "invalid_config",
            f"the change would make the configuration invalid ({n} problem{'s' * (n != 1)})",
            exc.problems,
        ) from None
