"""Pydantic's validation errors rewritten for the people who edit the YAML.

Pydantic says ``Input should be 'page', 'offset', 'cursor' or 'next_link'`` at
``('read', 'pagination', 'type')`` and puts union member names (``'bearer'``, ``'str'``) into the
location. Here every error becomes a key path into the user's data and a short sentence
("must be one of page, offset, cursor, next_link", "is required", "unknown key 'pagnation'; did
you mean 'pagination'?"). Input values are never quoted: they may be secrets.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from openconnector.config.yamlfile import Key, KeyPath

_SECRETISH = re.compile(r"secret|password|passphrase|token|api_?key|private|credential", re.I)


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest valid spelling of ``word``, if one is close enough to be a likely typo."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_key_message(key: str, valid: Sequence[str] | None) -> str:
    if not valid:
        return f"unknown key '{key}'"
    close = suggest(key, valid)
    if close:
        return f"unknown key '{key}'; did you mean '{close}'?"
    return f"unknown key '{key}'; valid keys here: {', '.join(valid)}"


def unknown_name_message(what: str, name: str, known: Sequence[str]) -> str:
    """``unknown source 'crm-ap'; did you mean 'crm-api'?`` — for references between sections."""
    close = suggest(name, known)
    if close:
        return f"unknown {what} '{name}'; did you mean '{close}'?"
    return f"unknown {what} '{name}'; known: {', '.join(known) if known else 'none defined'}"


def is_secretish(path: Sequence[Any]) -> bool:
    return any(isinstance(p, str) and (p == "auth" or _SECRETISH.search(p)) for p in path)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _choices(expected: str) -> str:
    """``"'page', 'offset' or 'next_link'"`` → ``"page, offset, next_link"``."""
    parts = re.findall(r"'((?:[^'\\]|\\.)*)'", expected)
    return ", ".join(parts) if parts else expected


_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "string_sub_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "none_required": "must be empty (null)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "datetime_type": "must be a date and time (ISO 8601)",
    "datetime_parsing": "must be a date and time (ISO 8601)",
    "datetime_from_date_parsing": "must be a date and time (ISO 8601)",
    "time_delta_type": "must be a duration (seconds or ISO 8601)",
    "time_delta_parsing": "must be a duration (seconds or ISO 8601)",
}


def _message(err: ErrorDetails, fields: list[str] | None) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return unknown_key_message(str(err["loc"][-1]), fields)
    if kind in ("literal_error", "enum"):
        return f"must be one of {_choices(str(ctx.get('expected', '')))}"
    if kind in _TYPE_MESSAGES:
        return f"{_TYPE_MESSAGES[kind]} (got {_kind(err.get('input'))})"
    limits = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be greater than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
        "multiple_of": ("must be a multiple of", "multiple_of"),
    }
    if kind in limits:
        text, key = limits[kind]
        return f"{text} {ctx.get(key)}"
    if kind == "string_too_short":
        n = ctx.get("min_length")
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        n = ctx.get("min_length")
        return "must not be empty" if n == 1 else f"must have at least {n} items"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error is not None else err["msg"]
    if kind.startswith("url_"):
        return f"must be a URL ({err['msg'][0].lower()}{err['msg'][1:]})"
    msg = err["msg"]
    return msg[:1].lower() + msg[1:]


# ---------------------------------------------------------------------------------------------
# From pydantic's location to the key path in the data, and to the model expected there.


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _members(tp: Any) -> list[Any]:
    return [m for m in typing.get_args(tp) if m is not type(None)]


def _tag_of(member: Any) -> str | None:
    if typing.get_origin(member) is typing.Annotated:
        for meta in typing.get_args(member)[1:]:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                return tag
    inner = _unwrap(member)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        field = inner.model_fields.get("type")
        if field is not None:
            args = typing.get_args(_unwrap(field.annotation))
            if typing.get_origin(_unwrap(field.annotation)) is typing.Literal and len(args) == 1:
                return str(args[0])
        return inner.__name__
    return None


def _step(tp: Any, elem: Key) -> tuple[Any, bool]:
    """The type one location element further in; the flag says the element named a union member
    (it is not a key in the user's data)."""
    tp = _unwrap(tp)
    if _is_union(tp):
        members = _members(tp)
        for m in members:
            if _tag_of(m) == elem:
                return _unwrap(m), True
        if len(members) == 1:
            return _step(members[0], elem)
        return None, isinstance(elem, str)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if elem in (name, f.alias):
                return f.annotation, False
        return None, False
    origin = typing.get_origin(tp)
    if origin in (dict, Mapping):
        args = typing.get_args(tp)
        return (args[1] if len(args) == 2 else Any), False
    if origin in (list, tuple, set, frozenset) and isinstance(elem, int):
        args = typing.get_args(tp)
        return (args[0] if args else Any), False
    return None, False


def _valid_keys(tp: Any) -> list[str] | None:
    tp = _unwrap(tp)
    if _is_union(tp):
        members = _members(tp)
        if len(members) != 1:
            return None
        tp = _unwrap(members[0])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return None


def _resolve(model: type[BaseModel], data: Any, err: ErrorDetails) -> tuple[KeyPath, bool, list[str] | None]:
    """Key path in ``data`` for the error, whether a union member was named on the way, and the
    valid keys of the model at the error's parent (for "did you mean")."""
    loc = err["loc"]
    tp: Any = model
    cur: Any = data
    path: list[Key] = []
    via_union = False
    parent_tp: Any = model
    for i, elem in enumerate(loc):
        last = i == len(loc) - 1
        if last:
            parent_tp = tp
        next_tp, is_tag = _step(tp, elem) if tp is not None else (None, False)
        in_data = (isinstance(cur, dict) and elem in cur) or (
            isinstance(cur, list) and isinstance(elem, int) and 0 <= elem < len(cur)
        )
        if in_data and not is_tag:
            path.append(elem)
            cur = cur[elem]
        elif last and err["type"] in ("missing", "extra_forbidden"):
            path.append(elem)
            cur = None
        else:
            via_union = True  # a union member's name (or a tag): not part of the user's key path
        tp = next_tp
    fields = _valid_keys(parent_tp) if err["type"] == "extra_forbidden" else None
    if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
        fields = None
    return tuple(path), via_union, fields


def _tag_problem(err: ErrorDetails, tp_expected: list[str] | None) -> tuple[str, str]:
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    key = str(ctx.get("discriminator", "'type'")).strip("'\"")
    if err["type"] == "union_tag_invalid":
        return key, f"must be one of {_choices(str(ctx.get('expected_tags', '')))}"
    if tp_expected:
        return key, f"is required (one of {', '.join(tp_expected)})"
    return key, "is required"


def _tags_at(model: type[BaseModel], loc: Sequence[Key]) -> list[str] | None:
    tp: Any = model
    for elem in loc:
        tp, _ = _step(tp, elem)
        if tp is None:
            return None
    tp = _unwrap(tp)
    if not _is_union(tp):
        return None
    tags = [_tag_of(m) for m in _members(tp)]
    return [t for t in tags if t] or None


def humanize(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    secret: Callable[[KeyPath], bool] = is_secretish,
) -> list[tuple[KeyPath, str]]:
    """Every error of ``exc`` (raised validating ``data`` with ``model``) as (key path, message).

    Our messages never quote the input; a validator's own message might, so where ``secret(path)``
    holds the input is blanked out of it."""
    plain: list[tuple[KeyPath, str]] = []
    unions: dict[KeyPath, list[tuple[str, Any]]] = {}
    for err in exc.errors(include_url=False):
        path, via_union, fields = _resolve(model, data, err)
        if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            key, message = _tag_problem(err, _tags_at(model, err["loc"]))
            plain.append(((*path, key), message))
            continue
        if err["type"] == "trigger_kind" and isinstance(err.get("input"), dict):
            message = err["msg"]
            from openconnector.config.models import TRIGGER_KINDS

            for k in err["input"]:
                close = suggest(str(k), TRIGGER_KINDS)
                if close:
                    message += f"; did you mean '{close}' instead of '{k}'?"
                    break
            plain.append((path, message))
            continue
        message = _message(err, fields)
        if secret(path):
            value = err.get("input")
            if isinstance(value, str) and len(value) >= 3 and value in message:
                message = message.replace(value, "***")
        if via_union and err["type"] in _TYPE_MESSAGES:
            unions.setdefault(path, []).append((_TYPE_MESSAGES[err["type"]], err.get("input")))
        else:
            plain.append((path, message))
    for path, alternatives in unions.items():
        wants: list[str] = []
        for text, _ in alternatives:
            tail = text.removeprefix("must be ")
            if tail not in wants:
                wants.append(tail)
        plain.append((path, f"must be {' or '.join(wants)} (got {_kind(alternatives[0][1])})"))
    seen: set[tuple[KeyPath, str]] = set()
    out: list[tuple[KeyPath, str]] = []
    for item in plain:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
