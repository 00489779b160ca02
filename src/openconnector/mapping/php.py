"""PHP 8 value semantics, so the ``openconnector`` dialect gives the PHP engine's output type for type.

The original maps with PHP casts (``(int)``, ``(string)``), loose ``==``, ``empty()``,
``json_encode``, ``htmlentities`` and friends. Each has corner cases (numeric prefixes, ``'1e3'``,
``null == ''``, ``3.0`` printing as ``3``) that Python's equivalents do differently; they live here,
in one place, with the PHP function each one mirrors. The native dialect reuses the parts whose
semantics it shares (entities, URL and base64 codecs, money formatting).
"""

from __future__ import annotations

import base64
import json as _json
import math
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from html.entities import codepoint2name, name2codepoint
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from jinja2 import Undefined

INT_MAX = 2**63 - 1
INT_MIN = -(2**63)

_WS = " \t\n\r\v\f"
_NUMERIC_RE = re.compile(r"[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)[ \t\n\r\v\f]*\Z")
_NUMERIC_PREFIX_RE = re.compile(r"[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_INTEGER_RE = re.compile(r"[+-]?\d+\Z")


class PhpTypeError(TypeError):
    """What PHP 8 throws as a ``TypeError`` (``strtolower([])``); the engines make it a MappingError."""


# --- numbers -------------------------------------------------------------------------------------


def numeric_string(value: str) -> int | float | None:
    """The number a PHP *numeric string* stands for (``is_numeric``), else None."""
    m = _NUMERIC_RE.match(value)
    if m is None:
        return None
    return _number(m.group(1))


def _number(text: str) -> int | float:
    if _INTEGER_RE.match(text):
        n = int(text)
        if INT_MIN <= n <= INT_MAX:
            return n
        return float(n)
    return float(text)


def _wrap_int(f: float) -> int:
    """PHP 8's float→int conversion: truncate; NaN/INF → 0; out of range wraps modulo 2**64."""
    if not math.isfinite(f):
        return 0
    n = int(f)
    if INT_MIN <= n <= INT_MAX:
        return n
    n %= 2**64
    return n - 2**64 if n > INT_MAX else n


def to_int(value: Any) -> int:
    """``(int) $value``."""
    if value is None or isinstance(value, Undefined):
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _wrap_int(value)
    if isinstance(value, str):
        m = _NUMERIC_PREFIX_RE.match(value)
        if m is None:
            return 0
        text = m.group(1)
        if _INTEGER_RE.match(text):
            return max(INT_MIN, min(INT_MAX, int(text)))  # integer strings saturate
        f = float(text)
        if not math.isfinite(f):
            return 0
        return max(INT_MIN, min(INT_MAX, int(f))) if abs(f) >= 2**63 else int(f)
    if isinstance(value, (list, dict)):
        return 1 if value else 0
    return 1


def to_float(value: Any) -> float:
    """``(float) $value``."""
    if value is None or isinstance(value, Undefined):
        return 0.0
    if isinstance(value, (bool, int)):
        return float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        m = _NUMERIC_PREFIX_RE.match(value)
        return float(m.group(1)) if m else 0.0
    if isinstance(value, (list, dict)):
        return 1.0 if value else 0.0
    return 1.0


def to_number(value: Any, op: str = "+") -> int | float:
    """An arithmetic operand: PHP 8 throws on arrays and on wholly non-numeric strings."""
    if value is None or isinstance(value, Undefined):
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        n = numeric_string(value)
        if n is not None:
            return n
        m = _NUMERIC_PREFIX_RE.match(value)
        if m is not None:  # leading-numeric ("5 apples"): PHP warns and uses the prefix
            return _number(m.group(1))
        raise PhpTypeError(f"Unsupported operand types: string {op} number ({value[:40]!r} is not numeric)")
    raise PhpTypeError(f"Unsupported operand types: {php_type(value)} {op} number")


def php_type(value: Any) -> str:
    if value is None or isinstance(value, Undefined):
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, dict)):
        return "array"
    return type(value).__name__


# --- strings -------------------------------------------------------------------------------------


def _float_digits(value: float, precision: int | None) -> tuple[str, int]:
    """Significant digits and decimal-point position of |value| (``precision`` None: shortest)."""
    if precision is None:
        text = repr(abs(value))
        if "e" in text or "E" in text:
            mant, exp = text.lower().split("e")
            exponent = int(exp)
        else:
            mant, exponent = text, 0
        int_part, _, frac = mant.partition(".")
        digits = (int_part + frac).lstrip("0")
        lead_zeros = len(int_part + frac) - len((int_part + frac).lstrip("0"))
        decpt = len(int_part) + exponent - lead_zeros
        digits = digits.rstrip("0") or "0"
        return digits, decpt
    text = f"{abs(value):.{precision - 1}e}"
    mant, exp = text.split("e")
    digits = mant.replace(".", "").rstrip("0") or "0"
    return digits, int(exp) + 1


def format_float(value: float, precision: int | None = 14, exp_char: str = "E") -> str:
    """PHP's ``%.*G``-style float printing (``(string)``/echo: precision 14; json_encode: shortest).

    ``3.0`` → ``3``, ``0.1 + 0.2`` → ``0.3``, ``1e25`` → ``1.0E+25``, ``0.00001`` → ``1.0E-5``.
    """
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, decpt = _float_digits(value, precision)
    limit = 17 if precision is None else precision
    sign = "-" if value < 0 else ""
    if decpt < -3 or decpt > limit:
        exponent = decpt - 1
        mant = digits[0] + "." + (digits[1:] or "0")
        return f"{sign}{mant}{exp_char}{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    if decpt <= 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return sign + digits + "0" * (decpt - len(digits))
    return f"{sign}{digits[:decpt]}.{digits[decpt:]}"


def to_str(value: Any) -> str:
    """``(string) $value`` as Twig prints it: true → '1', false/null → '', arrays → 'Array'."""
    if isinstance(value, str):
        return value
    if value is None or value is False or isinstance(value, Undefined):
        return ""
    if value is True:
        return "1"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (list, dict)):
        return "Array"
    return str(value)


def str_arg(value: Any, func: str) -> str:
    """A value passed to a PHP function typed ``string`` (coerced; arrays throw a TypeError)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        raise PhpTypeError(f"{func}(): Argument #1 ($string) must be of type string, array given")
    return to_str(value)


# --- truthiness and comparison -------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """PHP's boolean conversion: '', '0', 0, 0.0, [], null and false are false."""
    if value is None or value is False or isinstance(value, Undefined):
        return False
    if value is True:
        return True
    if isinstance(value, str):
        return value != "" and value != "0"
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (list, dict, tuple)):
        return len(value) > 0
    return bool(value)


def empty(value: Any) -> bool:
    """``empty($value)``."""
    return not truthy(value)


def _array_items(value: list[Any] | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {str(k): v for k, v in value.items()}


_NUMERIC_START = frozenset("0123456789+-. \t\n\r\v\f")


def loose_eq(a: Any, b: Any) -> bool:
    """PHP 8 ``$a == $b``."""
    if type(a) is str and type(b) is str:
        if a == b:
            return True
        if not a or not b or a[0] not in _NUMERIC_START or b[0] not in _NUMERIC_START:
            return False
    if isinstance(a, Undefined):
        a = None
    if isinstance(b, Undefined):
        b = None
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a is None and b is None:
            return True
        if a is None and isinstance(b, str):
            return b == ""  # null against a string compares as the empty string
        if b is None and isinstance(a, str):
            return a == ""
        return truthy(a) == truthy(b)
    a_num = isinstance(a, (int, float))
    b_num = isinstance(b, (int, float))
    if a_num and b_num:
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        na, nb = numeric_string(a), numeric_string(b)
        if na is not None and nb is not None:
            return na == nb
        return a == b
    if (a_num and isinstance(b, str)) or (b_num and isinstance(a, str)):
        num, text = (a, b) if a_num else (b, a)
        n = numeric_string(text)
        if n is not None:
            return bool(num == n)
        return to_str(num) == text
    if isinstance(a, (list, dict)) and isinstance(b, (list, dict)):
        ia, ib = _array_items(a), _array_items(b)
        return ia.keys() == ib.keys() and all(loose_eq(ia[k], ib[k]) for k in ia)
    return bool(a == b)


def compare(a: Any, b: Any) -> int:
    """PHP 8 ``$a <=> $b`` for the JSON types."""
    if isinstance(a, Undefined):
        a = None
    if isinstance(b, Undefined):
        b = None
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if isinstance(a, str) and b is None:
            return (a > "") - (a < "")
        if isinstance(b, str) and a is None:
            return (b < "") - (b > "")
        ta, tb = truthy(a), truthy(b)
        return (ta > tb) - (ta < tb)
    if isinstance(a, str) and isinstance(b, str):
        na, nb = numeric_string(a), numeric_string(b)
        if na is not None and nb is not None:
            return (na > nb) - (na < nb)
        return (a > b) - (a < b)
    a_num = isinstance(a, (int, float))
    b_num = isinstance(b, (int, float))
    if a_num and b_num:
        return (a > b) - (a < b)
    if (a_num and isinstance(b, str)) or (b_num and isinstance(a, str)):
        text = b if a_num else a
        n = numeric_string(text)
        if n is not None:
            x, y = (a, n) if a_num else (n, b)
            return (x > y) - (x < y)
        sa, sb = to_str(a), to_str(b)
        return (sa > sb) - (sa < sb)
    if isinstance(a, (list, dict)) and isinstance(b, (list, dict)):
        if len(a) != len(b):
            return (len(a) > len(b)) - (len(a) < len(b))
        ia, ib = _array_items(a), _array_items(b)
        for k, v in ia.items():
            if k not in ib:
                return 1
            c = compare(v, ib[k])
            if c:
                return c
        return 0
    if isinstance(a, (list, dict)):
        return 1
    if isinstance(b, (list, dict)):
        return -1
    return 0


# --- JSON ----------------------------------------------------------------------------------------

JSON_HEX_TAG = 1
JSON_HEX_AMP = 2
JSON_HEX_APOS = 4
JSON_HEX_QUOT = 8
JSON_FORCE_OBJECT = 16
JSON_NUMERIC_CHECK = 32
JSON_UNESCAPED_SLASHES = 64
JSON_PRETTY_PRINT = 128
JSON_UNESCAPED_UNICODE = 256
JSON_PRESERVE_ZERO_FRACTION = 1024

JSON_CONSTANTS = {
    "JSON_HEX_TAG": JSON_HEX_TAG,
    "JSON_HEX_AMP": JSON_HEX_AMP,
    "JSON_HEX_APOS": JSON_HEX_APOS,
    "JSON_HEX_QUOT": JSON_HEX_QUOT,
    "JSON_FORCE_OBJECT": JSON_FORCE_OBJECT,
    "JSON_NUMERIC_CHECK": JSON_NUMERIC_CHECK,
    "JSON_UNESCAPED_SLASHES": JSON_UNESCAPED_SLASHES,
    "JSON_PRETTY_PRINT": JSON_PRETTY_PRINT,
    "JSON_UNESCAPED_UNICODE": JSON_UNESCAPED_UNICODE,
    "JSON_PRESERVE_ZERO_FRACTION": JSON_PRESERVE_ZERO_FRACTION,
}


_HEX_FLAGS = JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT


def _json_string(text: str, flags: int) -> str:
    # The C encoder writes exactly PHP's escapes (lowercase \\uXXXX, surrogate pairs, \\n \\t ...);
    # PHP additionally escapes '/' unless JSON_UNESCAPED_SLASHES.
    if flags & JSON_UNESCAPED_UNICODE:
        out = _json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    else:
        out = _json.dumps(text)
    if not flags & JSON_UNESCAPED_SLASHES:
        out = out.replace("/", "\\/")
    if flags & _HEX_FLAGS:
        for ch, flag in (("<", JSON_HEX_TAG), (">", JSON_HEX_TAG), ("&", JSON_HEX_AMP), ("'", JSON_HEX_APOS)):
            if flags & flag:
                out = out.replace(ch, f"\\u{ord(ch):04X}")
        if flags & JSON_HEX_QUOT:
            out = '"' + out[1:-1].replace('\\"', "\\u0022") + '"'
    return out


def is_list_like(value: dict[str, Any]) -> bool:
    """A PHP array with keys 0..n-1 in order: what json_encode writes as a JSON list."""
    return all(k == str(i) for i, k in enumerate(value))


def json_encode(value: Any, flags: int = 0) -> str:
    """PHP ``json_encode`` (default flags: ``/`` escaped, non-ASCII as ``\\uXXXX``, 3.0 → ``3``)."""
    return _json_encode(value, flags, 0)


def _json_encode(value: Any, flags: int, depth: int) -> str:
    t = type(value)
    if t is str and not flags & JSON_NUMERIC_CHECK:
        return _json_string(value, flags)
    if t is dict and value and not flags & (JSON_PRETTY_PRINT | JSON_FORCE_OBJECT):
        keys = list(value)
        if not all(k == str(i) for i, k in enumerate(keys)):
            return (
                "{"
                + ",".join(
                    _json_string(str(k), flags) + ":" + _json_encode(v, flags, depth + 1)
                    for k, v in value.items()
                )
                + "}"
            )
    if value is None or isinstance(value, Undefined):
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PhpTypeError("json_encode(): Inf and NaN cannot be JSON encoded")
        if value == int(value) and abs(value) < 1e15 and flags & JSON_PRESERVE_ZERO_FRACTION:
            return format_float(value, None, "e") + ".0"
        return format_float(value, None, "e")
    if isinstance(value, str):
        if flags & JSON_NUMERIC_CHECK:
            n = numeric_string(value)
            if n is not None:
                return _json_encode(n, flags, depth)
        return _json_string(value, flags)
    pretty = bool(flags & JSON_PRETTY_PRINT)
    nl = "\n" + "    " * (depth + 1) if pretty else ""
    end = "\n" + "    " * depth if pretty else ""
    sep = ": " if pretty else ":"
    if isinstance(value, (list, tuple)):
        if flags & JSON_FORCE_OBJECT:
            value = {str(i): v for i, v in enumerate(value)}
        else:
            if not value:
                return "[]"
            items = [nl + _json_encode(v, flags, depth + 1) for v in value]
            return "[" + ",".join(items) + end + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}" if flags & JSON_FORCE_OBJECT else "[]"
        if not flags & JSON_FORCE_OBJECT and is_list_like(dict(value)):
            return _json_encode(list(value.values()), flags, depth)
        items = [
            nl + _json_string(str(k), flags) + sep + _json_encode(v, flags, depth + 1)
            for k, v in value.items()
        ]
        return "{" + ",".join(items) + end + "}"
    return _json_string(str(value), flags)


# --- HTML entities -------------------------------------------------------------------------------

_HTMLENTITIES = {cp: f"&{name};" for cp, name in codepoint2name.items()}
_HTMLENTITIES[ord("'")] = "&#039;"
_HTMLSPECIALCHARS = {
    ord("&"): "&amp;",
    ord('"'): "&quot;",
    ord("'"): "&#039;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
}
_ENTITY_RE = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]*));")


def htmlentities(text: str) -> str:
    """PHP 8.1+ ``htmlentities`` defaults (ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML401)."""
    return text.translate(_HTMLENTITIES)


def htmlspecialchars(text: str) -> str:
    return text.translate(_HTMLSPECIALCHARS)


def _allowed_codepoint(cp: int) -> bool:
    # HTML 4.01 document character set as PHP's html_entity_decode checks it.
    if cp in (0x09, 0x0A, 0x0D):
        return True
    if cp < 0x20 or 0x7F <= cp <= 0x9F:
        return False
    return not (0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF)


def _decode_entity(m: re.Match[str]) -> str:
    dec, hexa, name = m.groups()
    if name is not None:
        cp = name2codepoint.get(name)
        return chr(cp) if cp is not None else m.group(0)
    try:
        cp = int(dec) if dec is not None else int(hexa, 16)
    except ValueError:
        return m.group(0)
    return chr(cp) if _allowed_codepoint(cp) else m.group(0)


def html_entity_decode(text: str) -> str:
    """PHP 8.1+ ``html_entity_decode`` defaults: HTML 4.01 names (no ``&apos;``), numeric entities."""
    if "&" not in text:
        return text
    return _ENTITY_RE.sub(_decode_entity, text)


# --- URL and base64 ------------------------------------------------------------------------------


def urlencode(text: str) -> str:
    """``urlencode``: like rawurlencode, but space → '+' and '~' encoded."""
    return quote_plus(text, safe="").replace("~", "%7E")


def rawurlencode(text: str) -> str:
    """``rawurlencode`` (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay)."""
    return quote(text, safe="")


def urldecode(text: str) -> str:
    return unquote_plus(text, errors="replace")


def rawurldecode(text: str) -> str:
    return unquote(text, errors="replace")


_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def base64_decode_lenient(text: str) -> bytes:
    """PHP's non-strict ``base64_decode``: characters outside the alphabet (whitespace, '=') are skipped."""
    raw = bytes(b for b in text.encode("utf-8", "surrogatepass") if b in _B64_ALPHABET)
    rest = len(raw) % 4
    if rest == 1:  # a lone trailing sextet carries no whole byte
        raw = raw[:-1]
    elif rest:
        raw += b"=" * (4 - rest)
    return base64.b64decode(raw)


def base64_encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- money ---------------------------------------------------------------------------------------


def number_format(value: float, decimals: int = 0, dec_point: str = ".", thousands_sep: str = ",") -> str:
    """PHP ``number_format``: rounds half away from zero, as PHP does for the printed digits."""
    if not math.isfinite(value):
        return format_float(value)
    d = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    negative = d < 0
    text = f"{abs(d):f}"
    int_part, _, frac = text.partition(".")
    groups: list[str] = []
    while len(int_part) > 3:
        groups.insert(0, int_part[-3:])
        int_part = int_part[:-3]
    groups.insert(0, int_part)
    out = thousands_sep.join(groups)
    if decimals > 0:
        out += dec_point + frac
    if negative and text.strip("0.") != "":
        out = "-" + out
    return out
