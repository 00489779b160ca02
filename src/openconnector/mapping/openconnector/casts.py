"""The original's casts (``MappingService::handleCast``) with PHP semantics, value for value.

``(int)'42abc'`` is 42, ``bool`` is true only for 1/'true'/'yes', ``unsetIfValue==x`` compares with
loose ``==``: the quirks are reproduced on purpose (docs/mapping-openconnector-dialect.md lists
them). Where PHP throws a TypeError (``strtolower([])``) the record fails with a MappingError.
Deliberate differences: ``date`` parses and normalises instead of formatting the current time,
``utf8`` transliterates without changing the process locale, unknown casts are config errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openconnector.mapping import php
from openconnector.mapping.casts import REMOVE, CastFactory, CastFn
from openconnector.mapping.dates import DateParseError, normalise_date
from openconnector.mapping.errors import MappingError
from openconnector.mapping.openconnector.dot import dot_get, dot_has, split_dot
from openconnector.mapping.openconnector.environment import json_decode
from openconnector.mapping.text import to_ascii


def _fail(name: str, key: str, exc: Exception) -> MappingError:
    return MappingError(f"cast {name}: {exc}", key=key)


def _string(value: Any, out: dict[str, Any], key: str) -> Any:
    return php.to_str(value)


def _php_bool(value: Any) -> bool:
    if php.to_int(value) == 1:
        return True
    lowered = php.str_arg(value, "strtolower").translate({c: c + 32 for c in range(65, 91)})
    return lowered in ("true", "yes")


def _bool(value: Any, out: dict[str, Any], key: str) -> Any:
    try:
        return _php_bool(value)
    except php.PhpTypeError as exc:
        raise _fail("bool", key, exc) from None


def _nullable_bool(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return None
    return _bool(value, out, key)


def _int(value: Any, out: dict[str, Any], key: str) -> Any:
    return php.to_int(value)


def _float(value: Any, out: dict[str, Any], key: str) -> Any:
    return php.to_float(value)


def _array(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None:
        return []
    if isinstance(value, (list, dict)):
        return value
    return [value]


def _date(value: Any, out: dict[str, Any], key: str) -> Any:
    try:
        return normalise_date(value)
    except DateParseError as exc:
        raise MappingError(f"cast date: {exc}", key=key) from None


def _string_fn(name: str, func: str, fn: Callable[[str], Any]) -> CastFn:
    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        try:
            return fn(php.str_arg(value, func))
        except php.PhpTypeError as exc:
            raise _fail(name, key, exc) from None

    return cast


def _base64_decode(text: str) -> str:
    raw = php.base64_decode_lenient(text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise php.PhpTypeError(
            "the decoded bytes are not UTF-8 text (binary data cannot go into JSON)"
        ) from None


def _json(value: Any, out: dict[str, Any], key: str) -> Any:
    try:
        return php.json_encode(value)
    except php.PhpTypeError:
        return False  # json_encode() returns false on INF/NAN


def _json_to_array(value: Any, out: dict[str, Any], key: str) -> Any:
    if isinstance(value, (list, dict)):
        return value
    try:
        text = php.html_entity_decode(php.str_arg(value, "html_entity_decode"))
    except php.PhpTypeError as exc:
        raise _fail("jsonToArray", key, exc) from None
    ok, decoded = json_decode(text)
    return decoded if ok else None


def _null_string(value: Any, out: dict[str, Any], key: str) -> Any:
    return None if value == "null" and isinstance(value, str) else value


def coordinate_string_to_array(text: str) -> list[Any]:
    """``MappingService::coordinateStringToArray``: strings, one pair flat, more pairs nested."""
    point: list[str] = []
    pairs: list[list[str]] = []
    for half in text.split(" "):
        if len(point) > 1:
            pairs.append(point)
            point = []
        point.append(half)
    pairs.append(point)
    return pairs[0] if len(pairs) == 1 else pairs


def _coordinates(value: Any, out: dict[str, Any], key: str) -> Any:
    if value is None or isinstance(value, (list, dict)):
        raise MappingError(
            "cast coordinateStringToArray: Argument #1 ($coordinates) must be of type string, "
            f"{php.php_type(value)} given",
            key=key,
        )
    return coordinate_string_to_array(php.to_str(value))


def _key_cant_be_value(value: Any, out: dict[str, Any], key: str) -> Any:
    return REMOVE if php.loose_eq(key, value) else value


def _all_leaves_empty(value: Any) -> bool:
    """``MappingService::areAllArrayKeysNull``: every leaf is ``empty()``."""
    items = value.values() if isinstance(value, dict) else value
    if not items:
        return True
    for item in items:
        if isinstance(item, (list, dict)):
            if not _all_leaves_empty(item):
                return False
        elif not php.empty(item):
            return False
    return True


def _if_value_matches(value: Any, expected: str) -> bool:
    if php.loose_eq(value, expected) or (expected == "" and php.empty(value)):
        return True
    return expected == "" and isinstance(value, (list, dict)) and _all_leaves_empty(value)


def _unset_if(arg: str | None) -> CastFn:
    expected = arg or ""

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        return REMOVE if _if_value_matches(value, expected) else value

    return cast


def _null_if(arg: str | None) -> CastFn:
    expected = arg or ""

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        return None if _if_value_matches(value, expected) else value

    return cast


def _count_value(arg: str | None) -> CastFn:
    path = arg or ""
    segments = split_dot(path)

    def cast(value: Any, out: dict[str, Any], key: str) -> Any:
        if php.empty(path) or not dot_has(out, segments):
            return value
        target = dot_get(out, segments)
        return len(target) if isinstance(target, (list, dict)) else value

    return cast


def _money_string_to_int(value: Any, out: dict[str, Any], key: str) -> Any:
    if isinstance(value, (list, dict)):  # str_replace maps over arrays; (int) of an array is 0/1
        return 1 if value else 0
    return php.to_int(php.to_str(value).replace(".", "").replace(",", ""))


def _int_to_money_string(value: Any, out: dict[str, Any], key: str) -> Any:
    try:
        amount = php.to_number(value, "/")
    except php.PhpTypeError as exc:
        raise _fail("intToMoneyString", key, exc) from None
    return php.number_format(amount / 100, 2, ",", ".")


def _plain(fn: CastFn) -> CastFactory:
    def factory(arg: str | None) -> CastFn:
        return fn

    return factory


CASTS: dict[str, CastFactory] = {
    "string": _plain(_string),
    "bool": _plain(_bool),
    "boolean": _plain(_bool),
    "?bool": _plain(_nullable_bool),
    "?boolean": _plain(_nullable_bool),
    "int": _plain(_int),
    "integer": _plain(_int),
    "float": _plain(_float),
    "array": _plain(_array),
    "date": _plain(_date),
    "url": _plain(_string_fn("url", "urlencode", php.urlencode)),
    "urlDecode": _plain(_string_fn("urlDecode", "urldecode", php.urldecode)),
    "rawurl": _plain(_string_fn("rawurl", "rawurlencode", php.rawurlencode)),
    "rawurlDecode": _plain(_string_fn("rawurlDecode", "rawurldecode", php.rawurldecode)),
    "html": _plain(_string_fn("html", "htmlentities", php.htmlentities)),
    "htmlDecode": _plain(_string_fn("htmlDecode", "html_entity_decode", php.html_entity_decode)),
    "base64": _plain(_string_fn("base64", "base64_encode", php.base64_encode)),
    "base64Decode": _plain(_string_fn("base64Decode", "base64_decode", _base64_decode)),
    "json": _plain(_json),
    "jsonToArray": _plain(_json_to_array),
    "utf8": _plain(_string_fn("utf8", "iconv", to_ascii)),
    "nullStringToNull": _plain(_null_string),
    "coordinateStringToArray": _plain(_coordinates),
    "keyCantBeValue": _plain(_key_cant_be_value),
    "unsetIfValue": _unset_if,
    "setNullIfValue": _null_if,
    "countValue": _count_value,
    "moneyStringToInt": _plain(_money_string_to_int),
    "intToMoneyString": _plain(_int_to_money_string),
}

__all__ = ["CASTS", "coordinate_string_to_array"]
