"""PHP 8 value semantics the openconnector dialect relies on (expected values as PHP documents them)."""

from __future__ import annotations

from typing import Any

import pytest

from openconnector.mapping import php


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42abc", 42),
        ("abc", 0),
        ("1e3", 1000),
        (" 12 ", 12),
        ("-3.9", -3),
        ("0x1A", 0),
        (None, 0),
        (True, 1),
        (7.99, 7),
        (float("nan"), 0),
        ([], 0),
        ([0], 1),
        ("99999999999999999999", php.INT_MAX),
    ],
)
def test_to_int(value: Any, expected: int) -> None:
    assert php.to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1,5", 1.0), (".5", 0.5), ("2.50", 2.5), ("x", 0.0), (None, 0.0), ("1e2x", 100.0)],
)
def test_to_float(value: Any, expected: float) -> None:
    assert php.to_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "1"),
        (False, ""),
        (None, ""),
        (3.0, "3"),
        (2.5, "2.5"),
        (0.1 + 0.2, "0.3"),
        (1e25, "1.0E+25"),
        (1e14, "1.0E+14"),
        (1e13, "10000000000000"),
        (0.0001, "0.0001"),
        (0.00001, "1.0E-5"),
        (-1.5, "-1.5"),
        ([1], "Array"),
        ({"a": 1}, "Array"),
    ],
)
def test_to_str(value: Any, expected: str) -> None:
    assert php.to_str(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("10", "1e1", True),
        ("abc", 0, False),
        ("1", 1, True),
        ("1.0", "1", True),
        ("abc", "ABC", False),
        (None, "", True),
        (None, 0, True),
        (None, "0", False),
        (None, "a", False),
        (True, "inactive", True),
        (False, "", True),
        (0, "", False),
        ([], False, True),
        ([1, 2], {"0": 1, "1": 2}, True),
        ({"a": "1"}, {"a": 1}, True),
        (" 1", 1, True),
    ],
)
def test_loose_eq(a: Any, b: Any, equal: bool) -> None:
    assert php.loose_eq(a, b) is equal
    assert php.loose_eq(b, a) is equal


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [("10", "9", 1), ("10", "9a", -1), (2, "10", -1), ("a", "b", -1), ([1], 5, 1), (None, -1, -1)],
)
def test_compare(a: Any, b: Any, sign: int) -> None:
    assert php.compare(a, b) == sign


@pytest.mark.parametrize(
    ("value", "flags", "expected"),
    [
        ({"url": "https://a/b", "name": "café"}, 0, '{"url":"https:\\/\\/a\\/b","name":"caf\\u00e9"}'),
        ({}, 0, "[]"),
        ([], 0, "[]"),
        (3.0, 0, "3"),
        (3.0, php.JSON_PRESERVE_ZERO_FRACTION, "3.0"),
        (0.1, 0, "0.1"),
        (1e25, 0, "1.0e+25"),
        ({"0": "a", "1": "b"}, 0, '["a","b"]'),
        ({"1": "a"}, 0, '{"1":"a"}'),
        ("😀", 0, '"\\ud83d\\ude00"'),
        ("a/é", php.JSON_UNESCAPED_SLASHES | php.JSON_UNESCAPED_UNICODE, '"a/é"'),
        (
            "<'&\">",
            php.JSON_HEX_TAG | php.JSON_HEX_APOS | php.JSON_HEX_AMP | php.JSON_HEX_QUOT,
            '"\\u003C\\u0027\\u0026\\u0022\\u003E"',
        ),
        ({"a": [1]}, php.JSON_PRETTY_PRINT, '{\n    "a": [\n        1\n    ]\n}'),
        ([1], php.JSON_FORCE_OBJECT, '{"0":1}'),
        ("\n\t\x01", 0, '"\\n\\t\\u0001"'),
    ],
)
def test_json_encode(value: Any, flags: int, expected: str) -> None:
    assert php.json_encode(value, flags) == expected


def test_json_encode_refuses_infinity() -> None:
    with pytest.raises(php.PhpTypeError):
        php.json_encode(float("inf"))


def test_html_entities_round_trip_and_html401_names() -> None:
    assert (
        php.htmlentities("café & 'q' \"d\" <p> €")
        == "caf&eacute; &amp; &#039;q&#039; &quot;d&quot; &lt;p&gt; &euro;"
    )
    assert php.html_entity_decode("&eacute;&amp;&#039;&#x41;&apos;&bogus;&#0;") == "é&'A&apos;&bogus;&#0;"
    assert php.html_entity_decode("no entities") == "no entities"


def test_base64_decode_is_lenient_like_php() -> None:
    assert php.base64_decode_lenient("SGVsbG8") == b"Hello"
    assert php.base64_decode_lenient("SGVs bG8g\nV29ybGQ=") == b"Hello World"
    assert php.base64_decode_lenient("SGVsbG8h!!") == b"Hello!"
    assert php.base64_decode_lenient("Q") == b""


def test_url_codecs() -> None:
    assert php.urlencode("a b~*") == "a+b%7E%2A"
    assert php.rawurlencode("a b~*") == "a%20b~%2A"
    assert php.urldecode("a+b%41") == "a bA"
    assert php.rawurldecode("a+b%41") == "a+bA"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (1234.565, 2, "1.234,57"),
        (0.005, 2, "0,01"),
        (-1.5, 2, "-1,50"),
        (1000000, 0, "1.000.000"),
        (-0.001, 2, "0,00"),
    ],
)
def test_number_format(value: float, decimals: int, expected: str) -> None:
    assert php.number_format(value, decimals, ",", ".") == expected


@pytest.mark.parametrize(
    ("value", "truthy"),
    [("0", False), ("0.0", True), ("", False), ([], False), ({}, False), (0.0, False), (" ", True)],
)
def test_truthiness(value: Any, truthy: bool) -> None:
    assert php.truthy(value) is truthy
    assert php.empty(value) is not truthy


def test_arithmetic_operands() -> None:
    assert php.to_number("007") == 7
    assert php.to_number("1.5e1") == 15.0
    assert php.to_number("5 apples") == 5
    assert php.to_number(None) == 0
    with pytest.raises(php.PhpTypeError, match="not numeric"):
        php.to_number("apples")
    with pytest.raises(php.PhpTypeError, match="array"):
        php.to_number([1])
