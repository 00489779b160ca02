"""Every native cast: good values, edge values, and bad values (a MappingError naming the key)."""

from __future__ import annotations

from typing import Any

import pytest

from openconnector.config.models import MappingConfig
from openconnector.jsonutil import MISSING, get_path, set_path
from openconnector.mapping import MappingConfigError, MappingError, compile_mapping
from openconnector.mapping.casts import KNOWN_SPELLINGS, money_to_cents


def cast(spec: str | list[str], value: Any, key: str = "v") -> Any:
    m = compile_mapping("c", MappingConfig(pass_through=True, cast={key: spec}))
    record: dict[str, Any] = {}
    set_path(record, key, value)
    return get_path(m.apply(record), key)


GOOD = [
    ("int", "42", 42),
    ("int", " -7 ", -7),
    ("integer", 3.0, 3),
    ("int", "1e3", 1000),
    ("int", True, 1),
    ("int", None, None),
    ("float", "3.14", 3.14),
    ("float", 2, 2.0),
    ("float", "1e-2", 0.01),
    ("float", None, None),
    ("bool", "yes", True),
    ("bool", "TRUE", True),
    ("bool", "On", True),
    ("boolean", "0", False),
    ("bool", "nee", False),
    ("bool", 1, True),
    ("bool", 0.0, False),
    ("bool", "", False),
    ("bool", None, False),
    ("?bool", None, None),
    ("?bool", "no", False),
    ("?boolean", "true", True),
    ("string", 12, "12"),
    ("string", 2.5, "2.5"),
    ("string", True, "true"),
    ("string", None, None),
    ("array", "x", ["x"]),
    ("array", {"k": 1}, [{"k": 1}]),
    ("array", [1], [1]),
    ("array", None, []),
    ("json", {"a": [1, "é/"]}, '{"a":[1,"é/"]}'),
    ("json", None, "null"),
    ("jsonToArray", '{"a": 1}', {"a": 1}),
    ("jsonToArray", "[1,2]", [1, 2]),
    ("jsonToArray", {"a": 1}, {"a": 1}),
    ("jsonToArray", None, None),
    ("base64", "café", "Y2Fmw6k="),
    ("base64", 12, "MTI="),
    ("base64Decode", "SGVsbG8", "Hello"),
    ("base64Decode", "SGVs bG8g\nV29ybGQ=", "Hello World"),
    ("url", "a b&c~", "a+b%26c%7E"),
    ("urlDecode", "a+b%26c", "a b&c"),
    ("rawurl", "a b&c~", "a%20b%26c~"),
    ("rawurlDecode", "a+b%20c", "a+b c"),
    ("html", "café & 'q' <p>", "caf&eacute; &amp; &#039;q&#039; &lt;p&gt;"),
    ("htmlDecode", "caf&eacute; &amp; &#039;x&#039; &euro; &apos;", "café & 'x' € &apos;"),
    ("utf8", "Ærøskøbing \u2013 \u201cq\u201d €5 ß 東京", 'AEroskobing - "q" EUR5 ss ??'),
    ("utf8", "café résumé", "cafe resume"),
    ("nullStringToNull", "null", None),
    ("nullStringToNull", " NULL ", None),
    ("nullStringToNull", "nullable", "nullable"),
    ("moneyStringToInt", "1.234,56", 123456),
    ("moneyStringToInt", "12,5", 1250),
    ("moneyStringToInt", "€ 12,50", 1250),
    ("moneyStringToInt", "10", 1000),
    ("moneyStringToInt", "-0,99", -99),
    ("moneyStringToInt", 12.5, 1250),
    ("moneyStringToInt", 3, 300),
    ("intToMoneyString", 123456, "1.234,56"),
    ("intToMoneyString", -150, "-1,50"),
    ("intToMoneyString", "250", "2,50"),
    ("intToMoneyString", 5, "0,05"),
    ("coordinateStringToArray", "52.3676 4.9041", [52.3676, 4.9041]),
    ("coordinateStringToArray", "1 2  3 4", [[1.0, 2.0], [3.0, 4.0]]),
    ("coordinateStringToArray", "1,2", [1.0, 2.0]),
    ("date", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00+00:00"),
    ("date", "2024-03-01", "2024-03-01"),
    ("date", "01-03-2024", "2024-03-01"),
    ("date", "2024-03-01 10:00:00", "2024-03-01T10:00:00+00:00"),
    ("date", "2024-03-01T10:00:00+01:00", "2024-03-01T10:00:00+01:00"),
    ("date", 0, "1970-01-01T00:00:00+00:00"),
    ("date", None, None),
    ("unsetIfValue==", "", MISSING),
    ("unsetIfValue==", None, MISSING),
    ("unsetIfValue==", {"a": None, "b": [""]}, MISSING),
    ("unsetIfValue==", 0, 0),
    ("unsetIfValue==", "0", "0"),
    ("unsetIfValue==", False, False),
    ("unsetIfValue==inactive", "inactive", MISSING),
    ("unsetIfValue==inactive", True, True),
    ("unsetIfValue==10", 10, MISSING),
    ("unsetIfValue==true", True, MISSING),
    ("unsetIfValue==null", None, MISSING),
    ("setNullIfValue==n.v.t.", "n.v.t.", None),
    ("setNullIfValue==", [], None),
    ("setNullIfValue==n.v.t.", "waarde", "waarde"),
    ("keyCantBeValue", "v", MISSING),
    ("keyCantBeValue", "w", "w"),
    # lists of casts, comma-separated or YAML
    ("nullStringToNull,bool", "null", False),
    ("string, base64", 7, "Nw=="),
    (["unsetIfValue==a,b"], "a,b", MISSING),
    (["setNullIfValue==a,b", "?bool"], "a,b", None),
]


@pytest.mark.parametrize(("spec", "value", "expected"), GOOD, ids=[f"{s}:{v!r}" for s, v, _ in GOOD])
def test_cast(spec: Any, value: Any, expected: Any) -> None:
    result = cast(spec, value)
    if expected is MISSING:
        assert result is MISSING
    else:
        assert result == expected
        assert type(result) is type(expected)


BAD = [
    ("int", "abc", "cannot cast 'abc' to int: not a number"),
    ("int", "3.5", "cannot cast '3.5' to int: not a whole number"),
    ("int", 2.5, "cannot cast 2.5 to int: it has a fraction"),
    ("int", [1], "cannot cast [1] to int"),
    ("float", "1,5", "cannot cast '1,5' to float: not a number"),
    ("float", {"a": 1}, "cannot cast {'a': 1} to float"),
    ("bool", "2", "cannot cast '2' to bool: expected true/false"),
    ("bool", 2, "cannot cast 2 to bool"),
    ("bool", [], "cannot cast [] to bool"),
    ("?bool", "maybe", "cannot cast 'maybe' to ?bool"),
    ("string", {"a": 1}, "use the json cast"),
    ("jsonToArray", "not json", "cannot cast 'not json' to jsonToArray: invalid JSON"),
    ("jsonToArray", 5, "cannot cast 5 to jsonToArray"),
    ("base64Decode", "!!!", "cannot cast '!!!' to base64Decode"),
    ("base64Decode", "/w==", "not UTF-8 text"),
    ("base64", ["x"], "expected text"),
    ("url", {"a": 1}, "expected text"),
    ("html", True, "expected text"),
    ("moneyStringToInt", "twelve", "not an amount of money"),
    ("moneyStringToInt", True, "cannot cast True to moneyStringToInt"),
    ("intToMoneyString", "abc", "not a number of cents"),
    ("intToMoneyString", [1], "cannot cast [1] to intToMoneyString"),
    ("coordinateStringToArray", "1 2 3", "expected pairs of numbers"),
    ("coordinateStringToArray", "1 x", "'x' is not a number"),
    ("coordinateStringToArray", 5, "expected 'x y' text"),
    ("date", "15 maart 2024", "cannot read '15 maart 2024' as a date"),
    ("date", True, "not a date"),
]


@pytest.mark.parametrize(("spec", "value", "message"), BAD, ids=[f"{s}:{v!r}" for s, v, _ in BAD])
def test_bad_values_fail_the_record_naming_the_key(spec: str, value: Any, message: str) -> None:
    with pytest.raises(MappingError) as info:
        cast(spec, value, key="field.x")
    assert info.value.key == "field.x"
    assert message in str(info.value)
    assert str(info.value).startswith("field.x: ")


def test_a_long_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(MappingError) as info:
        cast("int", "x" * 500)
    assert len(str(info.value)) < 120


def test_count_value_counts_the_output() -> None:
    m = compile_mapping(
        "c",
        MappingConfig(
            mapping={"n": "{{ 0 }}", "items": "items", "m": "{{ 0 }}", "e": "{{ 0 }}", "s": "{{ 0 }}"},
            cast={
                "n": "countValue:items",
                "m": "countValue:nope",
                "e": "countValue:items.0",
                "s": "countValue:n",
            },
        ),
    )
    with pytest.raises(MappingError, match=r"countValue:items\.0: 'a' is not a list or object") as info:
        m.apply({"items": ["a", "b"]})
    assert info.value.key == "e"
    m = compile_mapping(
        "c",
        MappingConfig(
            mapping={"n": "{{ 0 }}", "items": "items", "m": "{{ 0 }}"},
            cast={"n": "countValue:items", "m": "countValue:nope"},
        ),
    )
    assert m.apply({"items": ["a", "b", "c"]}) == {"n": 3, "items": ["a", "b", "c"], "m": 0}


def test_casts_skip_absent_keys_and_never_create_them() -> None:
    m = compile_mapping("c", MappingConfig(mapping={"a": "a", "b": "b"}, cast={"a": "int", "b": "bool"}))
    assert m.apply({"a": "1"}) == {"a": 1}


def test_nested_cast_keys() -> None:
    m = compile_mapping("c", MappingConfig(mapping={"p.age": "age"}, cast={"p.age": "int"}))
    assert m.apply({"age": "5"}) == {"p": {"age": 5}}


def test_unknown_casts_are_config_errors_with_the_known_list() -> None:
    with pytest.raises(MappingConfigError) as info:
        compile_mapping(
            "c", MappingConfig(pass_through=True, cast={"a": "int,flaot", "b": "unsetIfValue==x,y"})
        )
    problems = info.value.problems
    assert problems[0][0] == "cast.a" and "unknown cast 'flaot'" in problems[0][1]
    assert problems[1][0] == "cast.b" and "write the casts as a YAML list" in problems[1][1]
    for name in ("int", "?bool", "countValue:path", "coordinateStringToArray", "utf8"):
        assert name in problems[0][1]


def test_every_documented_cast_is_known() -> None:
    documented = [
        *("int", "integer", "float", "bool", "boolean", "?bool", "string", "array", "json", "jsonToArray"),
        *(
            "base64",
            "base64Decode",
            "url",
            "urlDecode",
            "rawurl",
            "rawurlDecode",
            "html",
            "htmlDecode",
            "utf8",
        ),
        *("nullStringToNull", "keyCantBeValue", "unsetIfValue==X", "setNullIfValue==X", "moneyStringToInt"),
        *("intToMoneyString", "countValue:path", "coordinateStringToArray"),
    ]
    assert set(documented) <= set(KNOWN_SPELLINGS)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.000", 100000),
        ("1,000.50", 100050),
        ("0,5", 50),
        ("+3", 300),
        ("1 234,56", 123456),
        ("12,00", 1200),
    ],
)
def test_money_to_cents(text: str, cents: int) -> None:
    assert money_to_cents(text) == cents
