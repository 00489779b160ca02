"""The native dialect's casts: the original's cast names with strict, predictable meanings.

Every cast takes ``(value, output, key)`` and returns the new value, or :data:`REMOVE` to drop the
key. A value a cast cannot convert is a :class:`MappingError` naming the key (the record is
quarantined), never a silent 0 or ``false``. ``null`` stays ``null`` except where a cast exists to
change it (``bool`` → false, ``array`` → []).

Cast specs are parsed once, here, into these callables: ``"int"``, ``"unsetIfValue==n.v.t."``,
``"countValue:items"``, comma-separated strings and YAML lists of them.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

import orjson

from openconnector.jsonutil import MISSING, get_path, split_path
from openconnector.mapping import php
from openconnector.mapping.dates import DateParseError, normalise_date
from openconnector.mapping.errors import MappingError
from openconnector.mapping.text import to_ascii

REMOVE: Final = object()
"""Returned by a cast to remove the key from the output."""

CastFn = Callable[[Any, dict[str, Any], str], Any]
CastFactory = Callable[[str | None], CastFn]

_TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "ja", "j"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "nee", ""})
_INT_RE = re.compile(r"[+-]?\d+\Z")


def short(value: Any) -> str:
    """A value for an error message: its repr, cut short (records can be large)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class CastFailed(MappingError):
    def __init__(self, value: Any, target: str, key: str, why: str = "") -> None:
        super().__init__(f"cannot cast {short(value)} to {target}{': ' + why if why else ''}", key=key)


def _int(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CastFailed(value, "int", key, "it has a fraction")
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text)
        n = php.numeric_string(text)
        if isinstance(n, float) and n.is_integer():
            return int(n)
        raise CastFailed(value, "int", key, "not a whole number" if n is not None else "not a number")
    raise CastFailed(value, "int", key)


def _float(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None or type(value) is float:
        return value
    if isinstance(value, (bool, int)):
        return float(value)
    if isinstance(value, str):
        n = php.numeric_string(value)
        if n is not None:
            return float(n)
        raise CastFailed(value, "float", key, "not a number")
    raise CastFailed(value, "float", key)


def _to_bool(value: Any, key: str, target: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise CastFailed(value, target, key, "expected true/false, yes/no, 1/0 or on/off")
    raise CastFailed(value, target, key)


def _bool(value: Any, out: dict[str, Any], key: str) -> Any:
    return False if value is None else _to_bool(value, key, "bool")


def _nullable_bool(value: Any, out: dict[str, Any], key: str) -> Any:
    return None if value is None else _to_bool(value, key, "?bool")


def _string(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    raise CastFailed(value, "string", key, "use the json cast for objects and lists")


def _array(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _json(value: Any, out: dict[str, Any], key: str) -> Any:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except TypeError as exc:
        raise CastFailed(value, "json", key, str(exc)) from None


def _json_to_array(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None or isinstance(value, (list, dict)):
        return value
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise CastFailed(value, "jsonToArray", key, f"invalid JSON ({exc})") from None
    raise CastFailed(value, "jsonToArray", key)


def _text_cast(name: str, fn: Callable[[str], Any]) -> CastFn:
    """A cast over text: strings (and numbers, as their text) in, ``null`` stays ``null``."""

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            text = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            text = repr(value)
        else:
            raise CastFailed(value, name, key, "expected text")
        try:
            return fn(text)
        except MappingError:
            raise
        except (ValueError, UnicodeError, binascii.Error) as exc:
            raise CastFailed(value, name, key, str(exc)) from None

    return cast


def _b64decode(text: str) -> str:
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4)
    raw = base64.b64decode(compact, validate=True)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the decoded bytes are not UTF-8 text") from None


def _null_string(value: Any, out: dict[str, Any], key: str) -> Any:
    if isinstance(value, str) and value.strip().lower() == "null":
        return None
    return value


def _key_cant_be_value(value: Any, out: dict[str, Any], key: str) -> Any:
    return REMOVE if isinstance(value, str) and value == key else value


def _is_blank(value: Any) -> bool:
    """null, "", or a container whose every leaf is blank: what ``unsetIfValue==`` (no X) removes."""
    if value is None or value == "":
        return True
    if isinstance(value, dict):
        return all(_is_blank(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_blank(v) for v in value)
    return False


def _matches(value: Any, expected: str) -> bool:
    if expected == "":
        return _is_blank(value)
    if isinstance(value, str):
        return value == expected
    if isinstance(value, bool):
        return expected.lower() == ("true" if value else "false")
    if isinstance(value, (int, float)):
        n = php.numeric_string(expected)
        return n is not None and n == value
    if value is None:
        return expected.lower() == "null"
    return False


def _unset_if(arg: str | None) -> CastFn:
    expected = arg or ""

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        return REMOVE if _matches(value, expected) else value

    return cast


def _null_if(arg: str | None) -> CastFn:
    expected = arg or ""

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        return None if _matches(value, expected) else value

    return cast


def _count_value(arg: str | None) -> CastFn:
    segments = split_path(arg or "")

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        target = get_path(out, segments)
        if target is MISSING or target is None:
            return 0
        if isinstance(target, (list, dict)):
            return len(target)
        raise MappingError(f"countValue:{arg}: {short(target)} is not a list or object", key=key)

    return cast


_MONEY_RE = re.compile(r"[+-]?[\d.,' ]*\d")


def money_to_cents(text: str) -> int:
    """'1.234,56' → 123456, '12,5' → 1250, '€ 12.50' → 1250, '1.000' → 100000 (a thousands dot)."""
    cleaned = re.sub(r"[^\d.,+\-' ]", "", text).strip()
    m = _MONEY_RE.fullmatch(cleaned)
    if not m:
        raise ValueError("not an amount of money")
    body = cleaned.replace(" ", "").replace("'", "")
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-")
    last = max(body.rfind(","), body.rfind("."))
    if last >= 0 and len(body) - last - 1 in (1, 2):
        units, cents = body[:last], body[last + 1 :].ljust(2, "0")
    else:
        units, cents = body, "00"
    units = units.replace(",", "").replace(".", "")
    if not (units or "0").isdigit():
        raise ValueError("not an amount of money")
    return sign * (int(units or "0") * 100 + int(cents))


def _money_string_to_int(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CastFailed(value, "moneyStringToInt", key)
    if isinstance(value, int):
        return value * 100
    if isinstance(value, float):
        return int(Decimal(repr(value)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if isinstance(value, str):
        try:
            return money_to_cents(value)
        except ValueError as exc:
            raise CastFailed(value, "moneyStringToInt", key, str(exc)) from None
    raise CastFailed(value, "moneyStringToInt", key)


def _int_to_money_string(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CastFailed(value, "intToMoneyString", key)
    if isinstance(value, str):
        n = php.numeric_string(value)
        if n is None:
            raise CastFailed(value, "intToMoneyString", key, "not a number of cents")
        value = n
    if isinstance(value, (int, float)) and math.isfinite(value):
        try:
            return php.number_format(value / 100, 2, ",", ".")
        except InvalidOperation:  # pragma: no cover - finite floats always quantize
            pass
    raise CastFailed(value, "intToMoneyString", key)


def _coordinates(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CastFailed(value, "coordinateStringToArray", key, "expected 'x y' text")
    parts = value.replace(",", " ").split()
    if not parts or len(parts) % 2:
        raise CastFailed(value, "coordinateStringToArray", key, "expected pairs of numbers")
    numbers = []
    for part in parts:
        n = php.numeric_string(part)
        if n is None:
            raise CastFailed(value, "coordinateStringToArray", key, f"{part!r} is not a number")
        numbers.append(float(n))
    pairs = [numbers[i : i + 2] for i in range(0, len(numbers), 2)]
    return pairs[0] if len(pairs) == 1 else pairs


def _date(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return None
    try:
        return normalise_date(value)
    except DateParseError as exc:
        raise CastFailed(value, "date", key, str(exc)) from None


def _plain(fn: CastFn) -> CastFactory:
    def factory(arg: str | None) -> CastFn:
        return fn

    return factory


CASTS: dict[str, CastFactory] = {
    "int": _plain(_int),
    "integer": _plain(_int),
    "float": _plain(_float),
    "bool": _plain(_bool),
    "boolean": _plain(_bool),
    "?bool": _plain(_nullable_bool),
    "?boolean": _plain(_nullable_bool),
    "string": _plain(_string),
    "array": _plain(_array),
    "json": _plain(_json),
    "jsonToArray": _plain(_json_to_array),
    "base64": _plain(_text_cast("base64", php.base64_encode)),
    "base64Decode": _plain(_text_cast("base64Decode", _b64decode)),
    "url": _plain(_text_cast("url", php.urlencode)),
    "urlDecode": _plain(_text_cast("urlDecode", php.urldecode)),
    "rawurl": _plain(_text_cast("rawurl", php.rawurlencode)),
    "rawurlDecode": _plain(_text_cast("rawurlDecode", php.rawurldecode)),
    "html": _plain(_text_cast("html", php.htmlentities)),
    "htmlDecode": _plain(_text_cast("htmlDecode", php.html_entity_decode)),
    "utf8": _plain(_text_cast("utf8", to_ascii)),
    "nullStringToNull": _plain(_null_string),
    "keyCantBeValue": _plain(_key_cant_be_value),
    "unsetIfValue": _unset_if,
    "setNullIfValue": _null_if,
    "moneyStringToInt": _plain(_money_string_to_int),
    "intToMoneyString": _plain(_int_to_money_string),
    "countValue": _count_value,
    "coordinateStringToArray": _plain(_coordinates),
    "date": _plain(_date),
}

KNOWN_SPELLINGS: tuple[str, ...] = tuple(
    sorted(
        [n for n in CASTS if n not in ("unsetIfValue", "setNullIfValue", "countValue")]
        + ["unsetIfValue==X", "setNullIfValue==X", "countValue:path"],
        key=str.lower,
    )
)


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"unsetIfValue==x"`` → (``unsetIfValue``, ``x``); ``"countValue:a.b"`` → (``countValue``, ``a.b``)."""
    for prefix in ("unsetIfValue==", "setNullIfValue=="):
        if spec.startswith(prefix):
            return prefix[:-2], spec[len(prefix) :]
    if spec.startswith("countValue:"):
        return "countValue", spec[len("countValue:") :]
    return spec, None


def cast_names(spec: str | list[str]) -> list[str]:
    """A cast entry as a list of single casts: a YAML list as is, a string split on commas."""
    if isinstance(spec, list):
        return [s.strip() for s in spec]
    return [s.strip() for s in spec.split(",")]


def compile_cast_list(
    key: str, spec: str | list[str], table: dict[str, CastFactory], problems: list[tuple[str, str]]
) -> list[CastFn]:
    """Turn one ``cast:`` entry into callables, adding a problem for each unknown or malformed cast."""
    fns: list[CastFn] = []
    for single in cast_names(spec):
        name, arg = split_spec(single)
        factory = table.get(name)
        if factory is None:
            hint = ""
            if isinstance(spec, str) and "," in spec and "IfValue==" in spec:
                hint = (
                    " (a comma separates casts; to compare with a value containing ',',"
                    " write the casts as a YAML list)"
                )
            problems.append(
                (f"cast.{key}", f"unknown cast {single!r}{hint}; known: {', '.join(KNOWN_SPELLINGS)}")
            )
            continue
        if name == "countValue" and not arg:
            problems.append((f"cast.{key}", "countValue needs a path: countValue:<output path>"))
            continue
        fns.append(factory(arg))
    return fns
