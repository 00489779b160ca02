"""A Jinja2 sandbox that evaluates translated Twig the way PHP Twig 3 does.

Translation (:mod:`.twig`) fixes the syntax; this environment fixes the semantics, by generating
different code for a few node types (so no per-call interpretation is needed):

* ``if``, ``and``, ``or``, ``not`` and ``?:`` use PHP truthiness (``'0'`` and ``[]`` are false)
  and ``and``/``or`` give booleans;
* ``==``, ``<`` … use PHP 8 loose comparison; ``in`` is Twig's containment;
* ``~`` joins with PHP string conversion (``true`` → ``'1'``, ``null`` → ``''``);
* arithmetic converts numeric strings like PHP (``'007' + 1`` is 8);
* ``a.b`` on an array reads the key, never a Python method; missing things are undefined and chain;
* printing uses PHP's scalar printing (``3.0`` → ``3``, ``false`` → ``''``, arrays → ``Array``).

The original autoescapes HTML and then ``html_entity_decode``s the whole result. For printed values
that round trip is the identity, so it is not done per record: the template's literal text is
decoded once when translating (:mod:`.twig`), and ``raw`` (whose value PHP does not escape, so
the decode reaches it) decodes its value.

Filters, tests and functions are the Twig core ones mapping templates use plus the original's
``b64enc``, ``b64dec``, ``json_decode`` and ``slugify``.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext
from jinja2.utils import Namespace

from openconnector.mapping import php
from openconnector.mapping.dates import DateParseError, get_timezone, parse_date, php_date
from openconnector.mapping.openconnector.twig import FUNCTION_PREFIX
from openconnector.mapping.templates import RefusingSandbox
from openconnector.mapping.text import slugify_php

_LOOP_ATTRS = frozenset(
    {
        "index",
        "index0",
        "revindex",
        "revindex0",
        "first",
        "last",
        "length",
        "previtem",
        "nextitem",
        "depth",
        "depth0",
    }
)


class TwigUndefined(ChainableUndefined):
    """Twig without strict_variables: anything missing is null, chains, prints '' and equals null."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return php.loose_eq(None, other)

    def __ne__(self, other: object) -> bool:
        return not php.loose_eq(None, other)

    def __hash__(self) -> int:
        return 0


class TwigCodeGenerator(CodeGenerator):
    """Emit PHP semantics for truthiness, comparison and concatenation."""

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        # Jinja folds constant output with Python semantics ('10' == '1e1' is false there);
        # only literal text and literal values may be folded here.
        if not isinstance(node, (nodes.TemplateData, nodes.Const)):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)

    def _truth(self, node: nodes.Node, frame: Frame) -> None:
        self.write("environment.oc_truthy(")
        self.visit(node, frame)
        self.write(")")

    def visit_If(self, node: nodes.If, frame: Frame) -> None:
        if_frame = frame.soft()
        self.writeline("if ", node)
        self._truth(node.test, if_frame)
        self.write(":")
        self.indent()
        self.blockvisit(node.body, if_frame)
        self.outdent()
        for elif_ in node.elif_:
            self.writeline("elif ", elif_)
            self._truth(elif_.test, if_frame)
            self.write(":")
            self.indent()
            self.blockvisit(elif_.body, if_frame)
            self.outdent()
        if node.else_:
            self.writeline("else:")
            self.indent()
            self.blockvisit(node.else_, if_frame)
            self.outdent()

    def visit_CondExpr(self, node: nodes.CondExpr, frame: Frame) -> None:
        frame = frame.soft()
        self.write("(")
        self.visit(node.expr1, frame)
        self.write(" if ")
        self._truth(node.test, frame)
        self.write(" else ")
        if node.expr2 is not None:
            self.visit(node.expr2, frame)
        else:
            self.write("''")
        self.write(")")

    def visit_And(self, node: nodes.And, frame: Frame) -> None:  # type: ignore[override]
        self.write("(")
        self._truth(node.left, frame)
        self.write(" and ")
        self._truth(node.right, frame)
        self.write(")")

    def visit_Or(self, node: nodes.Or, frame: Frame) -> None:  # type: ignore[override]
        self.write("(")
        self._truth(node.left, frame)
        self.write(" or ")
        self._truth(node.right, frame)
        self.write(")")

    def visit_Not(self, node: nodes.Not, frame: Frame) -> None:  # type: ignore[override]
        self.write("(not ")
        self._truth(node.node, frame)
        self.write(")")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        # a < b < c compares pairwise, as PHP would evaluate (a < b) < c only with parentheses.
        self.write("(")
        left: nodes.Expr = node.expr
        for i, operand in enumerate(node.ops):
            if i:
                self.write(" and ")
            self.write(f"environment.oc_compare({operand.op!r}, ")
            self.visit(left, frame)
            self.write(", ")
            self.visit(operand.expr, frame)
            self.write(")")
            left = operand.expr
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.oc_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _finalize(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return php.to_str(value)


class TwigEnvironment(RefusingSandbox):
    code_generator_class = TwigCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    oc_truthy = staticmethod(php.truthy)

    def oc_compare(self, op: str, a: Any, b: Any) -> bool:
        if op == "eq":
            return php.loose_eq(a, b)
        if op == "ne":
            return not php.loose_eq(a, b)
        if op == "in":
            return twig_in(a, b)
        if op == "notin":
            return not twig_in(a, b)
        c = php.compare(a, b)
        if op == "lt":
            return c < 0
        if op == "lteq":
            return c <= 0
        if op == "gt":
            return c > 0
        return c >= 0

    def oc_concat(self, parts: Iterable[Any]) -> str:
        return "".join(p if isinstance(p, str) else php.to_str(p) for p in parts)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "+" and isinstance(left, (list, dict)) and isinstance(right, (list, dict)):
            merged = _as_dict(left)
            for k, v in _as_dict(right).items():
                merged.setdefault(k, v)
            return list(merged.values()) if php.is_list_like(merged) else merged
        a = php.to_number(left, operator)
        b = php.to_number(right, operator)
        if operator == "+":
            return _int_or_float(a + b)
        if operator == "-":
            return _int_or_float(a - b)
        if operator == "*":
            return _int_or_float(a * b)
        if operator == "/":
            if b == 0:
                raise ZeroDivisionError("Division by zero")
            if isinstance(a, int) and isinstance(b, int) and a % b == 0:
                return a // b
            return a / b
        if operator == "//":
            if b == 0:
                raise ZeroDivisionError("Division by zero")
            return math.floor(a / b)
        if operator == "%":
            ia, ib = php.to_int(a), php.to_int(b)
            if ib == 0:
                raise ZeroDivisionError("Modulo by zero")
            return int(math.fmod(ia, ib))
        return _power(a, b)

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        n = php.to_number(arg, operator)
        return -n if operator == "-" else n

    def getattr(self, obj: Any, attribute: str) -> Any:
        t = type(obj)
        if t is dict:
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        if t is list:
            idx = _index(attribute, len(obj))
            return obj[idx] if idx is not None else self.undefined(obj=obj, name=attribute)
        if t is Namespace:  # {% set %} inside loops; its attributes are plain values
            attrs = object.__getattribute__(obj, "_Namespace__attrs")
            return attrs[attribute] if attribute in attrs else self.undefined(obj=obj, name=attribute)
        if t is LoopContext and not attribute.startswith("_"):
            return (
                getattr(obj, attribute, None)
                if attribute in _LOOP_ATTRS
                else self.undefined(obj=obj, name=attribute)
            )
        if isinstance(obj, Undefined):
            return obj
        if obj is None or isinstance(obj, (str, int, float, bool)):
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        t = type(obj)
        if t is dict:
            key = oc_key(argument)
            if key in obj:
                return obj[key]
            return self.undefined(obj=obj, name=key)
        if t is list:
            idx = _index(argument, len(obj))
            return obj[idx] if idx is not None else self.undefined(obj=obj, name=str(argument))
        if isinstance(obj, Undefined):
            return obj
        if obj is None or isinstance(obj, (str, int, float, bool)):
            return self.undefined(obj=obj, name=str(argument))
        return super().getitem(obj, argument)


def _power(a: int | float, b: int | float) -> int | float:
    """PHP ``**``: integers while the result fits, a float (or INF) beyond, NAN for complex results."""
    small = (
        isinstance(a, int)
        and isinstance(b, int)
        and b >= 0
        and (a in (0, 1, -1) or b * math.log2(abs(a)) < 63)
    )
    if small:
        return _int_or_float(a**b)
    try:
        result = float(a) ** float(b)
    except OverflowError:
        return math.inf if a > 0 or (isinstance(b, int) and b % 2 == 0) else -math.inf
    except ZeroDivisionError:
        return math.inf
    return math.nan if isinstance(result, complex) else result


def _int_or_float(n: int | float) -> int | float:
    if isinstance(n, int) and not php.INT_MIN <= n <= php.INT_MAX:
        return float(n)
    return n


def _index(key: Any, length: int) -> int | None:
    if isinstance(key, bool):
        key = int(key)
    if isinstance(key, float):
        key = int(key)
    if isinstance(key, int):
        return key if 0 <= key < length else None
    if isinstance(key, str) and key.isdigit() and (key == "0" or key[0] != "0"):
        i = int(key)
        return i if i < length else None
    return None


def oc_key(key: Any) -> str:
    """An array key as PHP normalises it (true → '1', 2.7 → '2', null → '')."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "1" if key else "0"
    if isinstance(key, float):
        return str(php.to_int(key))
    if key is None or isinstance(key, Undefined):
        return ""
    return str(key)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return dict(value)
    return {}


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def twig_in(value: Any, container: Any) -> bool:
    if isinstance(container, (list, dict)):
        return any(php.loose_eq(value, v) for v in _values(container))
    if isinstance(container, str) and not isinstance(value, (list, dict)):
        return php.to_str(value) in container
    return False


def twig_empty(value: Any) -> bool:
    """Twig's ``empty`` test (and what ``default`` replaces): null, '', false, [] — not 0 or '0'."""
    if value is None or isinstance(value, Undefined) or value is False or value == "":
        return True
    return isinstance(value, (list, dict)) and not value


# --- filters -------------------------------------------------------------------------------------


def f_default(value: Any, default: Any = "") -> Any:
    return default if twig_empty(value) else value


def f_length(value: Any) -> int:
    if value is None or isinstance(value, Undefined):
        return 0
    if isinstance(value, (list, dict)):
        return len(value)
    return len(php.to_str(value))


def f_upper(value: Any) -> str:
    return php.to_str(value).upper()


def f_lower(value: Any) -> str:
    return php.to_str(value).lower()


def f_capitalize(value: Any) -> str:
    text = php.to_str(value)
    return text[:1].upper() + text[1:].lower()


def f_title(value: Any) -> str:
    return php.to_str(value).title()


_TRIM = " \t\n\r\0\x0b"


def f_trim(value: Any, characters: Any = None, side: str = "both") -> str:
    text = php.to_str(value)
    chars = _TRIM if characters is None or isinstance(characters, Undefined) else php.to_str(characters)
    if side == "left":
        return text.lstrip(chars)
    if side == "right":
        return text.rstrip(chars)
    if side != "both":
        raise ValueError(f'trimming side must be "left", "right" or "both", not {side!r}')
    return text.strip(chars)


def f_join(value: Any, glue: Any = "", and_: Any = None) -> str:
    items = [php.to_str(v) for v in _values(value)]
    glue_s = php.to_str(glue)
    if and_ is not None and len(items) > 1:
        return glue_s.join(items[:-1]) + php.to_str(and_) + items[-1]
    return glue_s.join(items)


def f_split(value: Any, delimiter: Any, limit: Any = None) -> list[str]:
    text = php.to_str(value)
    delim = php.to_str(delimiter)
    lim = None if limit is None or isinstance(limit, Undefined) else php.to_int(limit)
    if delim == "":
        size = lim if lim and lim > 0 else 1
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]
    if lim is None or lim == 0:
        return text.split(delim)
    if lim > 0:
        return text.split(delim, lim - 1)
    parts = text.split(delim)
    return parts[:lim]


def f_first(value: Any) -> Any:
    if isinstance(value, str):
        return value[:1]
    items = _values(value)
    return items[0] if items else None


def f_last(value: Any) -> Any:
    if isinstance(value, str):
        return value[-1:]
    items = _values(value)
    return items[-1] if items else None


def f_keys(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [int(k) if k.isdigit() and (k == "0" or k[0] != "0") else k for k in value]
    if isinstance(value, list):
        return list(range(len(value)))
    return []


def f_merge(value: Any, other: Any) -> Any:
    if isinstance(value, list) and isinstance(other, list):
        return [*value, *other]
    if not isinstance(value, (list, dict)) and not (value is None or isinstance(value, Undefined)):
        raise TypeError(f'the merge filter only works with arrays, got "{php.php_type(value)}"')
    if not isinstance(other, (list, dict)):
        raise TypeError(f'the merge filter only works with arrays, got "{php.php_type(other)}" as argument')
    merged: dict[str, Any] = {}
    numeric: list[Any] = []
    for source in (value or {}, other):
        for k, v in _as_dict(source).items():
            if k.isdigit() and (k == "0" or k[0] != "0"):
                numeric.append(v)
            else:
                merged[k] = v
    if not merged:
        return numeric
    result = {str(i): v for i, v in enumerate(numeric)}
    result.update(merged)
    return result


def f_reverse(value: Any) -> Any:
    if isinstance(value, str):
        return value[::-1]
    if isinstance(value, list):
        return value[::-1]
    if isinstance(value, dict):
        return dict(reversed(list(value.items())))
    return value


def f_sort(value: Any) -> Any:
    import functools

    key = functools.cmp_to_key(php.compare)
    if isinstance(value, list):
        return sorted(value, key=key)
    if isinstance(value, dict):
        return dict(sorted(value.items(), key=lambda kv: key(kv[1])))
    return value


def oc_slice_stop(start: Any, length: Any) -> int | None:
    if length is None or isinstance(length, Undefined):
        return None
    s, n = php.to_int(start), php.to_int(length)
    return n if n < 0 else (s + n if s >= 0 or s + n < 0 else None)


def f_slice(value: Any, start: Any, length: Any = None, preserve_keys: bool = False) -> Any:
    s = php.to_int(start)
    stop = oc_slice_stop(s, length)
    if isinstance(value, (str, list)):
        return value[s:stop]
    if isinstance(value, dict):
        return dict(list(value.items())[s:stop])
    return php.to_str(value)[s:stop]


def f_replace(value: Any, pairs: Any, new: Any = None) -> str:
    text = php.to_str(value)
    if new is not None:  # Jinja style replace(old, new)
        return text.replace(php.to_str(pairs), php.to_str(new))
    if not isinstance(pairs, dict):
        raise TypeError("the replace filter expects a hash of replacements")
    table = {php.to_str(k): php.to_str(v) for k, v in pairs.items() if php.to_str(k) != ""}
    if not table:
        return text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return pattern.sub(lambda m: table[m.group(0)], text)


def f_abs(value: Any) -> Any:
    return abs(php.to_number(value))


def f_round(value: Any, precision: Any = 0, method: str = "common") -> float:
    n = float(php.to_number(value))
    p = php.to_int(precision)
    factor = 10.0**p
    if method == "ceil":
        return math.ceil(n * factor) / factor
    if method == "floor":
        return math.floor(n * factor) / factor
    if method != "common":
        raise ValueError("the round filter only supports the common, ceil and floor methods")
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(n)).quantize(Decimal(1).scaleb(-p), rounding=ROUND_HALF_UP))


def f_number_format(value: Any, decimals: Any = 0, dec_point: Any = ".", thousands: Any = ",") -> str:
    return php.number_format(
        float(php.to_number(value)), php.to_int(decimals), php.to_str(dec_point), php.to_str(thousands)
    )


def f_url_encode(value: Any) -> str:
    if isinstance(value, dict):
        from urllib.parse import quote

        return "&".join(f"{quote(str(k), safe='')}={quote(php.to_str(v), safe='')}" for k, v in value.items())
    return php.rawurlencode(php.to_str(value))


def f_json_encode(value: Any, options: Any = 0) -> str:
    return php.json_encode(value, php.to_int(options))


def f_json_decode(value: Any) -> Any:
    """The original's ``json_decode`` filter, typed ``string -> array``: anything else throws."""
    ok, decoded = json_decode(_user_string(value, "json_decode"))
    if not ok or not isinstance(decoded, (list, dict)):
        raise TypeError(
            "json_decode(): Return value must be of type array, "
            f"{'null' if not ok else php.php_type(decoded)} returned (the input is not a JSON object or list)"
        )
    return decoded


def f_date(value: Any, format: Any = None, timezone: Any = None) -> str:
    fmt = "F j, Y H:i" if format is None or isinstance(format, Undefined) else php.to_str(format)
    raw = None if isinstance(value, Undefined) else value
    try:
        dt, _ = parse_date("now" if raw is None else raw)
        if timezone and not isinstance(timezone, Undefined):
            dt = dt.astimezone(get_timezone(php.to_str(timezone)))
    except DateParseError as exc:
        raise ValueError(f"date: {exc}") from None
    return php_date(dt, fmt)


def f_format(value: Any, *args: Any) -> str:
    return sprintf(php.to_str(value), *args)


_SPRINTF = re.compile(r"%(?:(\d+)\$)?([-+ 0]|'.)*(\d+)?(?:\.(\d+))?([bcdeEfFgGosuxX%])")


def sprintf(fmt: str, *args: Any) -> str:
    """PHP sprintf for the common conversions."""
    position = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal position
        conv = m.group(5)
        if conv == "%":
            return "%"
        if m.group(1):
            idx = int(m.group(1)) - 1
        else:
            idx = position
            position += 1
        if idx >= len(args):
            raise ValueError(f"sprintf: {idx + 1} arguments are required, {len(args)} given")
        arg = args[idx]
        spec = m.group(0)[1:-1]
        if m.group(1):
            spec = spec[len(m.group(1)) + 1 :]
        spec = spec.replace("'", "")
        if conv in "di":
            return ("%" + spec + "d") % php.to_int(arg)
        if conv == "u":
            return ("%" + spec + "d") % (php.to_int(arg) % 2**64)
        if conv in "eEfFgG":
            return ("%" + spec + conv.lower() if conv == "F" else "%" + spec + conv) % php.to_float(arg)
        if conv in "xXo":
            return ("%" + spec + conv) % php.to_int(arg)
        if conv == "b":
            return format(php.to_int(arg), "b")
        if conv == "c":
            return chr(php.to_int(arg))
        return ("%" + spec + "s") % php.to_str(arg)

    return _SPRINTF.sub(repl, fmt)


_TAG_RE = re.compile(r"<[^>]*>")


def f_striptags(value: Any, allowed: Any = None) -> str:
    return _TAG_RE.sub("", php.to_str(value))


def f_nl2br(value: Any) -> str:
    return php.to_str(value).replace("\n", "<br />\n")


def f_spaceless(value: Any) -> str:
    return re.sub(r">\s+<", "><", php.to_str(value)).strip()


def f_raw(value: Any) -> Any:
    return php.html_entity_decode(value) if isinstance(value, str) else value


def f_escape(value: Any, strategy: str = "html", charset: Any = None, autoescape: bool = False) -> Any:
    """HTML escaping, undone by the original's html_entity_decode: the value itself (URL: encoded)."""
    if strategy == "url":
        return php.rawurlencode(php.to_str(value))
    return value


def _user_string(value: Any, func: str) -> str:
    """An argument of the original's own filters (PHP user functions typed ``string``): null throws."""
    if value is None or isinstance(value, Undefined):
        raise TypeError(f"{func}(): Argument #1 ($input) must be of type string, null given")
    return php.str_arg(value, func)


def f_b64enc(value: Any) -> str:
    return php.base64_encode(_user_string(value, "b64enc"))


def f_b64dec(value: Any) -> str:
    raw = php.base64_decode_lenient(_user_string(value, "b64dec"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("b64dec: the decoded bytes are not UTF-8 text") from None


def f_slugify(value: Any) -> str:
    return slugify_php(php.to_str(value))


def f_batch(value: Any, size: Any, fill: Any = None) -> list[list[Any]]:
    items = _values(value)
    n = max(1, php.to_int(size))
    rows = [items[i : i + n] for i in range(0, len(items), n)]
    if fill is not None and rows and len(rows[-1]) < n:
        rows[-1] = rows[-1] + [fill] * (n - len(rows[-1]))
    return rows


def f_column(value: Any, name: Any) -> list[Any]:
    key = oc_key(name)
    return [row[key] for row in _values(value) if isinstance(row, dict) and key in row]


def f_values(value: Any) -> list[Any]:
    """``for x in obj`` walks an object's values in Twig."""
    return _values(value)


def f_items(value: Any) -> list[tuple[Any, Any]]:
    """``for k, v in obj``: keys and values of an object, indexes and items of a list."""
    if isinstance(value, dict):
        return [(int(k) if k.isdigit() and (k == "0" or k[0] != "0") else k, v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    return []


FILTERS: dict[str, Callable[..., Any]] = {
    "default": f_default,
    "length": f_length,
    "upper": f_upper,
    "lower": f_lower,
    "capitalize": f_capitalize,
    "title": f_title,
    "trim": f_trim,
    "join": f_join,
    "split": f_split,
    "first": f_first,
    "last": f_last,
    "keys": f_keys,
    "merge": f_merge,
    "reverse": f_reverse,
    "sort": f_sort,
    "slice": f_slice,
    "replace": f_replace,
    "abs": f_abs,
    "round": f_round,
    "number_format": f_number_format,
    "url_encode": f_url_encode,
    "json_encode": f_json_encode,
    "json_decode": f_json_decode,
    "jsonDecode": f_json_decode,
    "date": f_date,
    "format": f_format,
    "striptags": f_striptags,
    "nl2br": f_nl2br,
    "spaceless": f_spaceless,
    "oc_spaceless": f_spaceless,
    "raw": f_raw,
    "e": f_escape,
    "escape": f_escape,
    "b64enc": f_b64enc,
    "b64dec": f_b64dec,
    "slugify": f_slugify,
    "batch": f_batch,
    "column": f_column,
    "oc_values": f_values,
    "oc_items": f_items,
}


# --- tests ---------------------------------------------------------------------------------------


def t_null(value: Any) -> bool:
    return value is None or isinstance(value, Undefined)


def t_iterable(value: Any) -> bool:
    return isinstance(value, (list, dict))


def t_sequence(value: Any) -> bool:
    return isinstance(value, list) or (isinstance(value, dict) and php.is_list_like(value))


def t_mapping(value: Any) -> bool:
    return isinstance(value, dict) and not php.is_list_like(value)


def t_sameas(value: Any, other: Any) -> bool:
    if isinstance(value, Undefined):
        value = None
    if isinstance(other, Undefined):
        other = None
    return type(value) is type(other) and value == other


def t_divisibleby(value: Any, num: Any) -> bool:
    n = php.to_int(num)
    return n != 0 and php.to_int(value) % n == 0


def t_even(value: Any) -> bool:
    return php.to_int(value) % 2 == 0


def t_odd(value: Any) -> bool:
    return php.to_int(value) % 2 == 1


def t_starts_with(value: Any, prefix: Any) -> bool:
    return isinstance(value, str) and value.startswith(php.to_str(prefix))


def t_ends_with(value: Any, suffix: Any) -> bool:
    return isinstance(value, str) and value.endswith(php.to_str(suffix))


def t_matches(value: Any, pattern: Any) -> bool:
    return pcre(php.to_str(pattern)).search(php.to_str(value)) is not None


_PCRE_CACHE: dict[str, re.Pattern[str]] = {}


def pcre(pattern: str) -> re.Pattern[str]:
    """A PHP ``/regex/flags`` as a Python pattern."""
    cached = _PCRE_CACHE.get(pattern)
    if cached is not None:
        return cached
    if len(pattern) < 2 or pattern[0].isalnum() or pattern[0] == "\\":
        raise ValueError(f"not a delimited regular expression: {pattern!r}")
    delim = {"(": ")", "[": "]", "{": "}", "<": ">"}.get(pattern[0], pattern[0])
    end = pattern.rfind(delim)
    if end <= 0:
        raise ValueError(f"no ending delimiter {delim!r} in {pattern!r}")
    flags = 0
    for f in pattern[end + 1 :]:
        flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X, "u": 0}.get(f, 0)
    compiled = re.compile(pattern[1:end], flags)
    if len(_PCRE_CACHE) < 256:
        _PCRE_CACHE[pattern] = compiled
    return compiled


TESTS: dict[str, Callable[..., bool]] = {
    "null": t_null,
    "none": t_null,
    "empty": twig_empty,
    "iterable": t_iterable,
    "sequence": t_sequence,
    "mapping": t_mapping,
    "sameas": t_sameas,
    "divisibleby": t_divisibleby,
    "even": t_even,
    "odd": t_odd,
    "oc_starts_with": t_starts_with,
    "oc_ends_with": t_ends_with,
    "oc_matches": t_matches,
}


# --- functions -----------------------------------------------------------------------------------


def oc_coalesce(value: Any, fallback: Any) -> Any:
    return fallback if value is None or isinstance(value, Undefined) else value


def oc_range(low: Any, high: Any, step: Any = 1) -> list[Any]:
    """PHP ``range`` (inclusive; letters too), capped like Jinja's sandbox range."""
    letters = isinstance(low, str) and isinstance(high, str) and len(low) == 1 and len(high) == 1
    if letters and not (low.isdigit() and high.isdigit()):
        a, b = ord(low), ord(high)
        s = abs(php.to_int(step)) or 1
        return [chr(c) for c in (range(a, b + 1, s) if a <= b else range(a, b - 1, -s))]
    lo, hi = php.to_number(low), php.to_number(high)
    st = abs(php.to_number(step)) or 1
    if isinstance(lo, int) and isinstance(hi, int) and isinstance(st, int):
        seq = range(lo, hi + 1, st) if lo <= hi else range(lo, hi - 1, -st)
        if len(seq) > 100_000:
            raise OverflowError("range too big (more than 100000 items)")
        return list(seq)
    count = int(abs(hi - lo) / st) + 1
    if count > 100_000:
        raise OverflowError("range too big (more than 100000 items)")
    sign = 1 if hi >= lo else -1
    return [lo + sign * i * st for i in range(count)]


def fn_max(*values: Any) -> Any:
    items = _values(values[0]) if len(values) == 1 else list(values)
    import functools

    return max(items, key=functools.cmp_to_key(php.compare)) if items else None


def fn_min(*values: Any) -> Any:
    items = _values(values[0]) if len(values) == 1 else list(values)
    import functools

    return min(items, key=functools.cmp_to_key(php.compare)) if items else None


def fn_random(values: Any = None, maximum: Any = None) -> Any:
    if values is None or isinstance(values, Undefined):
        return random.randint(0, 2**31 - 1)
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        if maximum is None:
            return random.randint(0, int(values))
        return random.randint(int(values), php.to_int(maximum))
    if isinstance(values, str):
        return random.choice(values) if values else ""
    items = _values(values)
    return random.choice(items) if items else None


def fn_attribute(obj: Any, name: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(oc_key(name))
    if isinstance(obj, list):
        idx = _index(name, len(obj))
        return obj[idx] if idx is not None else None
    return None


def fn_constant(name: Any) -> Any:
    key = php.to_str(name)
    if key in php.JSON_CONSTANTS:
        return php.JSON_CONSTANTS[key]
    if key in ("PHP_EOL",):
        return "\n"
    raise ValueError(f"constant {key!r} is not available in mappings")


def fn_date(value: Any = None, timezone: Any = None) -> str:
    """Twig's ``date()`` function: a date (as ISO text, usable with the date filter)."""
    raw = None if isinstance(value, Undefined) else value
    try:
        dt, _ = parse_date("now" if raw is None else raw)
        if timezone and not isinstance(timezone, Undefined):
            dt = dt.astimezone(get_timezone(php.to_str(timezone)))
    except DateParseError as exc:
        raise ValueError(f"date: {exc}") from None
    return dt.isoformat()


def fn_generate_uuid() -> str:
    return str(uuid.uuid4())


def fn_cycle(values: Any, position: Any) -> Any:
    items = _values(values)
    return items[php.to_int(position) % len(items)] if items else None


FUNCTIONS: dict[str, Any] = {
    "range": oc_range,
    "max": fn_max,
    "min": fn_min,
    "random": fn_random,
    "attribute": fn_attribute,
    "constant": fn_constant,
    "date": fn_date,
    "cycle": fn_cycle,
    "generateUuid": fn_generate_uuid,
}
"""Twig functions. Twig keeps functions apart from variables (a record's ``date`` field does not
hide ``date()``), so calls are translated to ``oc_fn_<name>`` (:data:`FUNCTION_PREFIX`)."""

GLOBALS: dict[str, Any] = {
    "oc_coalesce": oc_coalesce,
    "oc_band": lambda a, b: php.to_int(a) & php.to_int(b),
    "oc_bor": lambda a, b: php.to_int(a) | php.to_int(b),
    "oc_bxor": lambda a, b: php.to_int(a) ^ php.to_int(b),
    "oc_range": oc_range,
    "oc_slice_stop": oc_slice_stop,
    "oc_key": oc_key,
    **{FUNCTION_PREFIX + name: fn for name, fn in FUNCTIONS.items()},
}

UNSUPPORTED_FUNCTIONS = {
    "callSource": "it calls an external source; a mapping is a pure transform (read in the pipeline)",
    "getFiles": "it reads Nextcloud files, which do not exist here",
    "getFileContents": "it reads Nextcloud files, which do not exist here",
}


def json_decode(text: str) -> tuple[bool, Any]:
    """PHP ``json_decode($text, true)``: (ok, value); big integers become floats as in PHP."""
    import json

    import orjson

    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        pass

    def big_int(s: str) -> int | float:
        n = int(s)
        return n if php.INT_MIN <= n <= php.INT_MAX else float(n)

    def no_constants(s: str) -> Any:
        raise ValueError(s)

    try:
        return True, json.loads(text, parse_int=big_int, parse_constant=no_constants)
    except ValueError:
        return False, None


def twig_environment() -> TwigEnvironment:
    env = TwigEnvironment(
        undefined=TwigUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        optimized=False,
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    env.globals.update(GLOBALS)
    return env


_ENV: TwigEnvironment | None = None


def shared_twig_environment() -> TwigEnvironment:
    global _ENV
    if _ENV is None:
        _ENV = twig_environment()
    return _ENV
