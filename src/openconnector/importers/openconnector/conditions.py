"""A synchronization's ``conditions`` (JSON Logic) → a pipeline ``filter`` (a Jinja2 expression).

The original skips a record unless ``JsonLogic::apply(conditions, record)`` is true; a pipeline's
``filter`` does the same with a Jinja2 expression over the record's fields. The common part of JSON
Logic translates one to one (comparisons, and/or/not, ``in``, ``if``, arithmetic, ``cat``, ``var``
paths that start with a field name); anything else raises :class:`Untranslatable` with the reason,
and the importer reports the conditions instead of guessing.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_JINJA_RESERVED = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"}
)
_COMPARE = {"==": "==", "===": "==", "!=": "!=", "!==": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}


class Untranslatable(ValueError):
    """The conditions use JSON Logic that has no faithful Jinja2 expression here."""


def to_filter(logic: Any) -> tuple[str, list[str]]:
    """The filter expression, and notes on where its meaning differs from JSON Logic's."""
    notes: list[str] = []
    expr = _expr(logic, notes)
    return expr, sorted(set(notes))


def _expr(node: Any, notes: list[str]) -> str:
    if isinstance(node, dict):
        if len(node) != 1:
            raise Untranslatable("a JSON Logic operation is an object with exactly one key")
        op, args = next(iter(node.items()))
        if not isinstance(args, list):
            args = [args]
        return _op(str(op), args, notes)
    if isinstance(node, list):
        return "[" + ", ".join(_expr(v, notes) for v in node) + "]"
    return _literal(node)


def _literal(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    raise Untranslatable(f"unsupported literal {value!r}")


def _var(args: list[Any], notes: list[str]) -> str:
    if not args or not isinstance(args[0], (str, int)) or isinstance(args[0], bool):
        raise Untranslatable("'var' needs a path")
    path = str(args[0])
    if path == "":
        raise Untranslatable("'var' of the whole record has no expression here")
    parts = path.split(".")
    first = parts[0]
    if not _IDENT.match(first) or first in _JINJA_RESERVED or keyword.iskeyword(first):
        raise Untranslatable(f"the field {first!r} is not a name an expression can refer to")
    out = first
    for part in parts[1:]:
        if part.isdigit():
            out += f"[{part}]"
        elif _IDENT.match(part) and part not in _JINJA_RESERVED:
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    if len(args) > 1:
        default = _expr(args[1], notes)
        return f"({out} if {out} is defined and {out} is not none else {default})"
    return out


def _op(op: str, args: list[Any], notes: list[str]) -> str:
    if op == "var":
        return _var(args, notes)
    if op in _COMPARE:
        if op in ("==", "!="):
            notes.append(
                f"JSON Logic's {op} compares loosely ('1' == 1 is true); the filter compares strictly, "
                "so compare values of the same type"
            )
        if op in ("<", "<=") and len(args) == 3:
            a, b, c = (_expr(x, notes) for x in args)
            return f"({a} {_COMPARE[op]} {b} {_COMPARE[op]} {c})"
        if len(args) != 2:
            raise Untranslatable(f"'{op}' with {len(args)} arguments")
        a, b = (_expr(x, notes) for x in args)
        return f"({a} {_COMPARE[op]} {b})"
    if op in ("and", "or"):
        if not args:
            raise Untranslatable(f"'{op}' without arguments")
        return "(" + f" {op} ".join(_expr(x, notes) for x in args) + ")"
    if op == "!":
        return f"(not {_expr(args[0], notes)})" if args else "true"
    if op == "!!":
        return f"(not not {_expr(args[0], notes)})" if args else "false"
    if op == "in":
        if len(args) != 2:
            raise Untranslatable("'in' needs two arguments")
        return f"({_expr(args[0], notes)} in {_expr(args[1], notes)})"
    if op == "if":
        if len(args) < 3 or len(args) % 2 == 0:
            raise Untranslatable("'if' needs condition, then, else (and optional elseif pairs)")
        *pairs, otherwise = args
        out = _expr(otherwise, notes)
        for i in range(len(pairs) - 2, -1, -2):
            out = f"({_expr(pairs[i + 1], notes)} if {_expr(pairs[i], notes)} else {out})"
        return out
    if op == "cat":
        return "(" + " ~ ".join(_expr(x, notes) for x in args) + ")" if args else "''"
    if op in _ARITH:
        if op == "-" and len(args) == 1:
            return f"(-{_expr(args[0], notes)})"
        if len(args) < 2 or (op in "/%" and len(args) != 2):
            raise Untranslatable(f"'{op}' with {len(args)} arguments")
        return "(" + f" {_ARITH[op]} ".join(_expr(x, notes) for x in args) + ")"
    raise Untranslatable(f"the JSON Logic operation '{op}' has no translation")
