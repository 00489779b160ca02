"""Secrets never leave the API: configured secrets are shown as ``**********``.

A secret is any ``SecretStr`` of a source's model (auth passwords, tokens, client secrets, and
whatever a connector marks secret), a webhook secret, a key whose name says it is one, and the
password inside a URL. A value written as a plain ``${VAR}`` reference is shown as written — the
name of a variable is not a secret. Sending a masked value back (GET, edit, PUT) keeps the value
that was configured, so a client never needs to know a secret to edit the resource around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretBytes, SecretStr

from openconnector.config.models import WebhookTrigger

if TYPE_CHECKING:
    from openconnector.config import Project

KeyPath = tuple[str | int, ...]

MASK = "**********"
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "client_secret",
        "passphrase",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "database_url",
    }
)
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<pw>[^@/\s]+)(?P<tail>@)")
_ABSENT = object()


def _model_secret_paths(model: BaseModel, prefix: KeyPath) -> Iterator[KeyPath]:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        path = (*prefix, info.alias or name)
        yield from _value_secret_paths(value, path)


def _value_secret_paths(value: Any, path: KeyPath) -> Iterator[KeyPath]:
    if isinstance(value, (SecretStr, SecretBytes)):
        yield path
    elif isinstance(value, BaseModel):
        yield from _model_secret_paths(value, path)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _value_secret_paths(v, (*path, str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _value_secret_paths(v, (*path, i))


def secret_paths(project: Project) -> set[KeyPath]:
    """Key paths (as in the config file) that hold secrets."""
    paths: set[KeyPath] = set()
    for name, source in project.sources.items():
        paths.update(_model_secret_paths(source, ("sources", name)))
    for name, read in project.reads.items():
        paths.update(_model_secret_paths(read, ("pipelines", name, "read")))
    for name, cfg in project.pipelines.items():
        for i, trig in enumerate(cfg.triggers):
            if isinstance(trig, WebhookTrigger):
                paths.add(("pipelines", name, "triggers", i, "webhook", "secret"))
    return paths


def _is_secret(path: KeyPath, secrets: set[KeyPath]) -> bool:
    return path in secrets or (bool(path) and str(path[-1]).lower() in SECRET_KEYS)


def mask_url(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return m.group(0) if _REFERENCE.fullmatch(m["pw"]) else f"{m['head']}{MASK}{m['tail']}"

    return _URL_PASSWORD.sub(repl, text)


def mask(value: Any, path: KeyPath, secrets: set[KeyPath]) -> Any:
    """``value`` (found at ``path`` in the config file) with every secret in it masked."""
    if isinstance(value, dict):
        return {k: mask(v, (*path, str(k)), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, (*path, i), secrets) for i, v in enumerate(value)]
    if _is_secret(path, secrets) and value is not None and not isinstance(value, (dict, list, bool)):
        if isinstance(value, str):
            if _REFERENCE.fullmatch(value):
                return value
            if path and path[-1] == "database_url":
                return mask_url(value)
        return MASK
    if isinstance(value, str):
        return mask_url(value)
    return value


def unmask(new: Any, old: Any = _ABSENT) -> Any:
    """``new`` with every masked value replaced by the configured one it stands for."""
    if isinstance(new, dict):
        prev = old if isinstance(old, dict) else {}
        return {k: unmask(v, prev.get(k, _ABSENT)) for k, v in new.items()}
    if isinstance(new, list):
        prev_list = old if isinstance(old, list) else []
        return [unmask(v, prev_list[i] if i < len(prev_list) else _ABSENT) for i, v in enumerate(new)]
    if (
        isinstance(new, str)
        and MASK in new
        and old is not _ABSENT
        and old is not None
        and (new == MASK or (isinstance(old, str) and new == mask_url(old)))
    ):
        return old
    return new
