"""The openconnector dialect beyond the 50 reference cases: the original's quirks (kept), the
deliberate differences (docs/mapping-openconnector-dialect.md), Twig syntax, sub-mappings."""

from __future__ import annotations

import copy
import locale
from typing import Any

import pytest

from openconnector.config.models import MappingConfig
from openconnector.mapping import CompiledMapping, MappingConfigError, MappingError, compile_mapping


def oc(resolver: Any = None, **kwargs: Any) -> CompiledMapping:
    return compile_mapping("oc", MappingConfig(dialect="openconnector", **kwargs), resolver=resolver)


def render(template: str, record: dict[str, Any] | None = None) -> Any:
    return oc(mapping={"o": template}).apply(record if record is not None else RECORD)["o"]


def cast(spec: str | list[str], value: Any) -> Any:
    return oc(passThrough=True, cast={"v": spec}).apply({"v": value}).get("v", "<absent>")


RECORD: dict[str, Any] = {
    "a": "x",
    "n": "007",
    "f": 1.5,
    "list": ["p", "q"],
    "obj": {"k1": "v1", "k2": "v2"},
    "nul": None,
    "t": True,
    "empty": "",
    "zero": "0",
    "s": "Hello World",
    "amp": "Tom & Jerry <b>",
}


# --- the original's rules and quirks, reproduced ---------------------------------------------------


def test_a_value_is_a_path_if_it_exists_else_its_own_text() -> None:
    m = oc(mapping={"p": "obj.k1", "q": "obj.k9", "r": "plain words", "s": "list.1", "t": "list.01"})
    assert m.apply(RECORD) == {"p": "v1", "q": "obj.k9", "r": "plain words", "s": "q", "t": "list.01"}


def test_non_string_scalars_become_text_or_paths() -> None:
    assert oc(mapping={"a": 5, "b": True, "c": 2.5, "d": False}).apply({}) == {
        "a": "5",
        "b": "1",
        "c": "2.5",
        "d": "",
    }
    assert oc(mapping={"a": 5}).apply({"5": "five"}) == {"a": "five"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", False),
        (2, False),
        ("on", False),
        ("Y", False),
        ("1.5", True),
        ([1], True),
        ("YES", True),
        (None, False),
    ],
)
def test_bool_cast_quirks(value: Any, expected: bool) -> None:
    assert cast("bool", value) is expected


def test_bool_cast_of_an_empty_array_fails_like_php() -> None:
    with pytest.raises(MappingError, match=r"strtolower.*array given") as info:
        cast("bool", [])
    assert info.value.key == "v"


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("string", True, "1"),
        ("string", False, ""),
        ("string", None, ""),
        ("string", 1.0, "1"),
        ("string", ["a"], "Array"),
        ("int", "42abc", 42),
        ("int", "abc", 0),
        ("int", "1e3", 1000),
        ("int", None, 0),
        ("float", "1,5", 1.0),
        ("unsetIfValue==", "0", "<absent>"),
        ("unsetIfValue==", 0, "<absent>"),
        ("unsetIfValue==", False, "<absent>"),
        ("unsetIfValue==inactive", True, "<absent>"),
        ("unsetIfValue==10", "1e1", "<absent>"),
        ("setNullIfValue==", "0", None),
        ("moneyStringToInt", "12,5", 125),
        ("moneyStringToInt", "1.000", 1000),
        ("moneyStringToInt", "€ 12,50", 0),
        ("moneyStringToInt", 12.5, 125),
        ("intToMoneyString", 12345, "123,45"),
        ("intToMoneyString", 0.5, "0,01"),
        ("coordinateStringToArray", "1 2 3", [["1", "2"], ["3"]]),
        ("coordinateStringToArray", "1  2", [["1", ""], ["2"]]),
        ("coordinateStringToArray", "", [""]),
        ("coordinateStringToArray", 5, ["5"]),
        (
            "json",
            {"url": "https://a/b", "name": "café", "e": {}, "f": 3.0},
            '{"url":"https:\\/\\/a\\/b","name":"caf\\u00e9","e":[],"f":3}',
        ),
        ("jsonToArray", "{&quot;a&quot;:1}", {"a": 1}),
        ("jsonToArray", "5", 5),
        ("jsonToArray", "", None),
        ("nullStringToNull", "NULL", "NULL"),
        ("keyCantBeValue", "v", "<absent>"),
        ("keyCantBeValue", True, "<absent>"),
        ("array", "x", ["x"]),
        ("array", None, []),
        ("url", 12, "12"),
        ("base64Decode", "SGVsbG8", "Hello"),
        ("htmlDecode", "&amp;lt;", "&lt;"),
        ("int,string", "7x", "7"),
        (["unsetIfValue==a,b"], "a,b", "<absent>"),
    ],
)
def test_casts_reproduce_php(spec: Any, value: Any, expected: Any) -> None:
    result = cast(spec, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        ("url", ["a"], "urlencode(): Argument #1 ($string) must be of type string, array given"),
        ("coordinateStringToArray", None, "must be of type string, null given"),
        ("intToMoneyString", "abc", "Unsupported operand types"),
        ("base64Decode", "/w==", "not UTF-8 text"),
        ("date", "15 maart 2024", "cannot read '15 maart 2024' as a date"),
    ],
)
def test_where_php_throws_the_record_fails(spec: str, value: Any, message: str) -> None:
    with pytest.raises(
        MappingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")
    ) as info:
        cast(spec, value)
    assert info.value.key == "v"


def test_casts_run_in_order_and_a_removed_key_stays_removed() -> None:
    m = oc(
        mapping={"a": "{{ '' }}", "b.c": "{{ '' }}", "b.d": "{{ '' }}", "e": "{{ 'x' }}"},
        cast={
            "b.c": "unsetIfValue==",
            "b.d": "unsetIfValue==",
            "b": "unsetIfValue==",
            "a": "unsetIfValue==,bool",
        },
    )
    assert m.apply({}) == {"e": "x"}


def test_count_value_counts_the_output_and_ignores_zero() -> None:
    m = oc(
        mapping={"n": "x", "m": "x", "items": "items"}, cast={"n": "countValue:items", "m": "countValue:0"}
    )
    assert m.apply({"x": "?", "items": [1, 2]}) == {"n": 2, "m": "?", "items": [1, 2]}


def test_unset_then_cast_and_missing_keys_are_skipped() -> None:
    m = oc(passThrough=True, unset=["a.b", "ghost.x"], cast={"a": "json", "ghost": "int"})
    assert m.apply({"a": {"b": 1, "c": 2}}) == {"a": '{"c":2}'}


def test_root_hash_key() -> None:
    assert oc(mapping={"#": "user"}).apply({"user": {"n": 1}}) == {"n": 1}
    assert oc(mapping={"#": "user.name"}).apply({"user": {"name": "Jo"}}) == ["Jo"]
    assert oc(mapping={"#": "nothing"}).apply({"nothing": None}) == {}
    assert oc(mapping={"#": "tags"}).apply({"tags": ["a"]}) == ["a"]


def test_numeric_segments_build_lists_only_for_keys_0_to_n() -> None:
    m = oc(mapping={"k.0.a": "{{ 'x' }}", "k.1.a": "{{ 'y' }}", "j.1": "{{ 'z' }}"})
    assert m.apply({}) == {"k": [{"a": "x"}, {"a": "y"}], "j": {"1": "z"}}


def test_unsetting_a_list_element_in_the_middle_leaves_an_object_as_php_does() -> None:
    m = oc(passThrough=True, unset=["l.0"])
    assert m.apply({"l": ["a", "b", "c"]}) == {"l": {"1": "b", "2": "c"}}
    m = oc(passThrough=True, unset=["l.2"])
    assert m.apply({"l": ["a", "b", "c"]}) == {"l": ["a", "b"]}


def test_a_scalar_in_the_way_of_an_output_path_is_replaced() -> None:
    assert oc(mapping={"a": "{{ 'x' }}", "a.b": "{{ 'y' }}"}).apply({}) == {"a": {"b": "y"}}


def test_dotted_keys_are_escaped_as_html_entity() -> None:
    m = oc(mapping={"out&#46;key": "in&#46;key", "plain": "in.key", "deep": "n.deep&#46;er"})
    out = m.apply({"in.key": 1, "n": {"deep.er": 2}})
    assert out == {"out.key": 1, "plain": "in.key", "deep": 2}


def test_paths_are_read_from_the_input_not_the_output() -> None:
    assert oc(mapping={"a": "{{ 'x' }}", "b": "a"}).apply({"a": "input"}) == {"a": "x", "b": "input"}


def test_pass_through_copies_and_does_not_touch_the_input() -> None:
    record = {"a": {"b": [1, {"c": 2}]}, "d": "e"}
    before = copy.deepcopy(record)
    m = oc(passThrough=True, mapping={"a.b.1.c": "{{ 3 }}", "x": "a"}, cast={"x.b.0": "string"})
    out = m.apply(record)
    assert record == before
    assert out == {"a": {"b": [1, {"c": "3"}]}, "d": "e", "x": {"b": ["1", {"c": 2}]}}


def test_list_mode_variants() -> None:
    m = oc(mapping={"v": "value", "e": "extra", "n": "0"})
    assert m.apply_list(["a", "b"]) == [
        {"v": "a", "e": "extra", "n": "a"},
        {"v": "b", "e": "extra", "n": "b"},
    ]
    assert m.apply_list({"listInput": {"x": "a"}, "extra": "E", "value": "dropped"}) == {
        "x": {"v": "a", "e": "E", "n": "a"}
    }
    assert oc(mapping={"n": "name"}).apply_list([{"name": "A"}]) == [{"n": "A"}]
    with pytest.raises(MappingError, match="list mode needs a list"):
        m.apply_list({"listInput": "nope"})


# --- deliberate differences ------------------------------------------------------------------------


def test_date_cast_normalises_instead_of_formatting_now() -> None:
    assert cast("date", "2024-01-01T10:00:00Z") == "2024-01-01T10:00:00+00:00"
    assert cast("date", "15-03-2024") == "2024-03-15"
    with pytest.raises(MappingError, match="cannot read 'Y-m-d' as a date"):  # PHP: today's date
        cast("date", "Y-m-d")


def test_utf8_cast_leaves_the_process_locale_alone() -> None:
    before = locale.setlocale(locale.LC_CTYPE)
    assert cast("utf8", "Ærøskøbing \u2013 \u201cq\u201d €5 ß 東京") == 'AEroskobing - "q" EUR5 ss ??'
    assert locale.setlocale(locale.LC_CTYPE) == before


def test_a_numeric_top_level_key_is_an_ordinary_key() -> None:
    out = oc(mapping={"0": "list", "x": "x"}).apply({"list": ["a"], "x": "?"})
    assert out == {"0": ["a"], "x": "?"}


def test_an_array_of_existing_paths_is_copied_literally() -> None:
    assert oc(mapping={"x": ["a", "b"]}).apply({"a": 1, "b": 2}) == {"x": ["a", "b"]}


def test_unknown_casts_and_bad_values_are_config_errors() -> None:
    with pytest.raises(MappingConfigError) as info:
        oc(mapping={"a": "a", "n": None}, cast={"a": "int,bogus", "b": "unsetIfValue==a,b"})
    problems = info.value.problems
    assert ("mapping.n", "null is not a mapping value (the original throws a TypeError on it)") in problems
    assert any(p == "cast.a" and "unknown cast 'bogus'" in m for p, m in problems)
    assert any(p == "cast.b" and "unknown cast 'b'" in m and "YAML list" in m for p, m in problems)


def test_whitespace_around_cast_names_is_ignored() -> None:
    assert cast("int, string", "7") == "7"


def test_twig_errors_name_the_key_and_the_template() -> None:
    with pytest.raises(MappingConfigError) as info:
        oc(
            mapping={
                "ok": "{{ a }}",
                "bad": "{% if a %}x",
                "link": "/openwoo/{{ titel | lower | strip_tags }}",
                "src": "{{ callSource('s', '/x') }}",
                "inc": "{% include 'x.twig' %}",
            }
        )
    problems = dict(info.value.problems)
    assert "ok" not in str(problems.keys())
    assert "'{% if a %}x'" in problems["mapping.bad"] and "Twig syntax error" in problems["mapping.bad"]
    assert "No filter named 'strip_tags'" in problems["mapping.link"]
    assert "/openwoo/{{ titel | lower | strip_tags }}" in problems["mapping.link"]
    assert "callSource() is not supported" in problems["mapping.src"]
    assert "the 'include' tag is not supported" in problems["mapping.inc"]


def test_template_runtime_errors_fail_the_record_with_the_key() -> None:
    m = oc(mapping={"o": "{{ a + 1 }}", "j": "{{ a|json_decode }}"})
    with pytest.raises(MappingError, match="Unsupported operand types") as info:
        m.apply({"a": "abc"})
    assert info.value.key == "o"
    with pytest.raises(MappingError, match="Return value must be of type array") as info:
        m.apply({"a": "5"})
    assert info.value.key == "j"


# --- Twig ------------------------------------------------------------------------------------------

TWIG = [
    ("{% if a == 'y' %}1{% elseif a == 'x' %}2{% else %}3{% endif %}", "2"),
    (
        "{{ nul is null ? 'N' : 'NN' }}|{{ missing is null ? 'N' : 'NN' }}|{{ a is not null ? 'set' }}",
        "N|N|set",
    ),
    ("{{ nul ?? 'd' }}|{{ missing.deep ?? 'd' }}|{{ a ?? 'd' }}|{{ zero ?? 'd' }}", "d|d|x|0"),
    ("{{ empty ?: 'elvis' }}|{{ zero ?: 'elvis' }}|{{ a ?: 'elvis' }}", "elvis|elvis|x"),
    (
        "{{ n + 1 }}|{{ f * 2 }}|{{ 7 / 2 }}|{{ 6 / 3 }}|{{ 7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 3 }}|{{ -n }}",
        "8|3|3.5|2|3|-1|8|-7",
    ),
    ("{{ a ~ t ~ nul ~ f ~ 3.0 }}", "x11.53"),
    ("{{ t }}|{{ nul }}|{{ f }}|{{ 3.0 }}|{{ list }}|{{ 0.1 + 0.2 }}", "1||1.5|3|Array|0.3"),
    ("{{ missing.x.y.z }}|{{ obj.nope }}|{{ list.9 }}|{{ s.length }}", "|||"),
    ("{% for x in obj %}{{ x }},{% endfor %}", "v1,v2,"),
    ("{% for k, v in obj %}{{ k }}={{ v }};{% endfor %}", "k1=v1;k2=v2;"),
    ("{% for i, v in list %}{{ i }}:{{ v }} {% endfor %}", "0:p 1:q "),
    ("{% for x in nul %}x{% else %}none{% endfor %}", "none"),
    ("{% for x in list %}{{ loop.index }}{{ loop.last ? '.' : ',' }}{% endfor %}", "1,2."),
    ("{% set c = 0 %}{% for x in list %}{% set c = c + 1 %}{% endfor %}{{ c }}", "2"),
    (
        "{% set found = false %}{% for x in list %}{% if x == 'q' %}{% set found = true %}{% endif %}"
        "{% endfor %}"
        "{{ found ? 'F' : 'NF' }}",
        "F",
    ),
    ("{% for x in list %}{% set blk %}<{{ x }}>{% endset %}{% endfor %}{{ blk }}", "<q>"),
    ('{{ "Hi #{a|upper} and #{ obj.k1 }!" }}', "Hi X and v1!"),
    ("{{ {k: a, 'q': 1, 2: 'two', (a): 'dyn'}|json_encode }}", '{"k":"x","q":1,"2":"two","x":"dyn"}'),
    ("{{ {a}|json_encode }}", '{"a":"x"}'),
    (
        "{% for i in 1..3 %}{{ i }}{% endfor %}|{{ (1..5)|join(',') }}|{{ ('a'..'c')|join }}",
        "123|1,2,3,4,5|abc",
    ),
    ("{{ s[0:5] }}|{{ s[6:] }}|{{ list[0:1]|join }}", "Hello|World|p"),
    (
        "{{ s starts with 'Hell' ? 'y' : 'n' }}{{ s ends with 'x' ? 'y' : 'n' }}"
        "{{ s matches '/^h/i' ? 'm' : 'n' }}",
        "ynm",
    ),
    (
        "{{ 5 is divisible by(5) ? 'y' : 'n' }}{{ a is same as('x') ? 'y' : 'n' }}"
        "{{ 4 is even ? 'e' : 'o' }}",
        "yye",
    ),
    (
        "{{ nul|default('d') }}|{{ empty|default('d') }}|{{ zero|default('d') }}|{{ missing|default('d') }}",
        "d|d|0|d",
    ),
    (
        "{{ zero ? 'T' : 'F' }}{{ '0.0' ? 'T' : 'F' }}{{ list ? 'T' : 'F' }}{{ not empty ? 'T' : 'F' }}",
        "FTTT",
    ),
    ("{{ zero or a }}|{{ a and nul }}|{{ not a }}", "1||"),
    (
        "{{ '10' == '1e1' ? 'eq' : 'ne' }}{{ 'abc' == 0 ? 'eq' : 'ne' }}{{ nul == '' ? 'eq' : 'ne' }}",
        "eqneeq",
    ),
    (
        "{{ '9' < '10' ? 'lt' : 'ge' }}{{ 'p' in list ? 'in' : 'out' }}{{ 'ell' in s ? 'in' : 'out' }}",
        "ltinin",
    ),
    (
        "{{ list is iterable ? 'i' : 'n' }}{{ s is iterable ? 'i' : 'n' }}{{ empty is empty ? 'e' : 'n' }}",
        "ine",
    ),
    ("AT&amp;T {{ a }} &lt;b&gt;", "AT&T x <b>"),
    ("{{ amp }}|{{ amp|e }}|{{ '&amp;'|raw }}|{{ 'AT&amp;T' }}", "Tom & Jerry <b>|Tom & Jerry <b>|&|AT&T"),
    ("a\n  {%- if true -%}\n  b  \n{%- endif %}\nc", "abc"),
    ("{% if true %}\nX{% endif %}\nY", "XY"),
    ("a {{~ a ~}} \n b", "ax\n b"),
    ("x{# a comment #}y{# with {{ tags }} #}", "xy"),
    ("{% verbatim %}{{ not rendered }}{% endverbatim %}", "{{ not rendered }}"),
    ("{{ list|length }}{{ nul|length }}{{ s|length }}{{ obj|length }}", "20112"),
    ("{{ s|lower|replace({'world': 'there'}) }}|{{ s|replace('World', 'You') }}", "hello there|Hello You"),
    ("{{ s|split(' ')|last }}|{{ s|split('', 3)|first }}|{{ 'a,b,c'|split(',', 2)|last }}", "World|Hel|b,c"),
    (
        "{{ obj|keys|join(',') }}|{{ list|merge(['r'])|join }}|{{ list|join(', ', ' and ') }}",
        "k1,k2|pqr|p and q",
    ),
    (
        "{{ 1234.5|number_format(2, ',', '.') }}|{{ 2.5|round }}|{{ 2.45|round(1, 'floor') }}|{{ -3|abs }}",
        "1.234,50|3|2.4|3",
    ),
    ("{{ '2024-03-01T12:00:00Z'|date('d-m-Y H:i') }}|{{ 1709301909|date('Y') }}", "01-03-2024 12:00|2024"),
    ("{{ 'x %s %05.1f %d%%'|format('a', 3.14159, '7') }}", "x a 003.1 7%"),
    (
        "{{ 'Hello World_Foo!!'|slugify }}|{{ 'a b/c'|url_encode }}|{{ {'q': 'a b'}|url_encode }}",
        "hello-world-foo|a%20b%2Fc|q=a%20b",
    ),
    ("{{ 'Hello'|b64enc }}|{{ 'SGVsbG8'|b64dec }}|{{ ('{\"a\":[1]}'|json_decode).a.0 }}", "SGVsbG8=|Hello|1"),
    (
        "{{ max(1, 5, 3) }}{{ min([4, 2]) }}{{ attribute(obj, 'k1') }}{{ list|first }}{{ list|last }}",
        "52v1pq",
    ),
    ("{% set x = {'a': 1} %}{% set x = x|merge({'b': 2}) %}{{ x|json_encode }}", '{"a":1,"b":2}'),
    (
        "{{ {'u': 'a/b', 'e': 'é'}|json_encode("
        "constant('JSON_UNESCAPED_SLASHES') b-or constant('JSON_UNESCAPED_UNICODE')) }}",
        '{"u":"a/b","e":"é"}',
    ),
    ("{% apply upper %}hi {{ a }}{% endapply %}|{% set blk %}B{{ a }}{% endset %}{{ blk }}", "HI X|Bx"),
    ("{% do list|length %}{% with {w: 'W'} %}{{ w }}{% endwith %}", "W"),
    (
        "{{ s|upper|trim('HD') }}|{{ ' x '|trim(side='left') }}|{{ s|title }}|{{ 'aB'|capitalize }}",
        "ELLO WORL|x |Hello World|Ab",
    ),
    (
        "{{ list|reverse|join }}{{ [3, 1, 2]|sort|join }}{{ list|slice(1)|join }}"
        "{{ [1,2,3]|batch(2)|length }}",
        "qp123q2",
    ),
    ("{{ TRUE ? NULL ?? 'n' : 'f' }}", "n"),
    (
        "{{ 2 ** 62 }}|{{ 2 ** 64 }}|{{ 9 ** 99999999 }}|{{ (-8) ** (1/3) }}|{{ 2 ** -1 }}",
        "4611686018427387904|1.844674407371E+19|INF|NAN|0.5",
    ),
    ("{{ generateUuid()|length }}", "36"),
]


@pytest.mark.parametrize(("template", "expected"), TWIG, ids=[f"twig{i}" for i in range(len(TWIG))])
def test_twig(template: str, expected: str) -> None:
    assert render(template) == expected


def test_attributes_of_arrays_are_keys_never_methods_and_internals_are_refused() -> None:
    assert (
        render("{{ obj.items }}|{{ list.count }}|{{ ''.__class__ }}", {"obj": {"a": 1}, "list": [1]}) == "||"
    )
    assert render("{{ obj.items|length }}", {"obj": {"items": [1, 2]}}) == "2"
    with pytest.raises(MappingError, match="refused by the sandbox"):
        render("{% for x in list %}{{ loop.__class__ }}{% endfor %}", {"list": [1]})
    with pytest.raises(MappingError, match="refused by the sandbox"):
        render("{% for x in list %}{{ loop._after }}{% endfor %}", {"list": [1]})


def test_functions_are_not_hidden_by_fields_of_the_same_name() -> None:
    record = {"date": "2024-05-06", "max": "field", "range": [1]}
    template = "{{ date }}|{{ date(date)|date('Y') }}|{{ max }}|{{ max(3, 4) }}|{{ range|length }}"
    assert render(template, record) == "2024-05-06|2024|field|4|1"


def test_every_translated_function_exists() -> None:
    from openconnector.mapping.openconnector.environment import FUNCTIONS
    from openconnector.mapping.openconnector.twig import FUNCTION_NAMES

    assert {*FUNCTIONS, "executeMapping"} == FUNCTION_NAMES


def test_meta_is_visible_as_an_extension() -> None:
    m = oc(mapping={"a": "_meta.page", "b": "{{ _meta.page + 1 }}"})
    assert m.apply({}, {"page": 2}) == {"a": 2, "b": "3"}


# --- sub-mappings ----------------------------------------------------------------------------------

STATUS = MappingConfig(dialect="openconnector", mapping={"code": "c", "label": "{{ l|upper }}"})


def test_execute_mapping_by_id_with_a_resolver() -> None:
    found = {"4": STATUS}
    m = oc(
        resolver=found.get,
        mapping={"s": "{{ executeMapping(4, {'c': a, 'l': 'open'})|json_encode }}"},
        cast={"s": "jsonToArray"},
    )
    assert m.apply({"a": 1}) == {"s": {"code": 1, "label": "OPEN"}}


def test_execute_mapping_list_mode_and_inline_mappings() -> None:
    found = {"status": STATUS}
    m = oc(
        resolver=found.get,
        mapping={
            "l": "{{ executeMapping('status', items, true)|json_encode }}",
            "k": "{{ executeMapping('status', items, list=true)|length }}",
            "i": "{{ executeMapping({'mapping': {'x': 'y'}}, {'y': 'inline'})|json_encode }}",
        },
        cast={"l": "jsonToArray", "i": "jsonToArray"},
    )
    out = m.apply({"items": [{"c": 1, "l": "a"}, {"c": 2, "l": "b"}]})
    assert out == {
        "l": [{"code": 1, "label": "A"}, {"code": 2, "label": "B"}],
        "k": "2",
        "i": {"x": "inline"},
    }


@pytest.mark.parametrize("attribute", ["_resolver", "_compiled", "_resolve", "__call__"])
def test_the_execute_mapping_object_exposes_nothing(attribute: str) -> None:
    template = "{{ oc_fn_executeMapping." + attribute + " }}"
    m = oc(resolver={"4": STATUS}.get, mapping={"s": template})
    with pytest.raises(MappingError, match="refused by the sandbox"):
        m.apply({})


def test_execute_mapping_can_call_a_native_mapping() -> None:
    found = {"n": MappingConfig(mapping={"v": "{{ x * 2 }}"})}
    m = oc(resolver=found.get, mapping={"o": "{{ executeMapping('n', {'x': 21}).v }}"})
    assert m.apply({}) == {"o": "42"}


def test_execute_mapping_without_a_resolver_is_a_clear_record_error() -> None:
    m = oc(mapping={"s": "{{ executeMapping(4, {})|json_encode }}"})
    with pytest.raises(MappingError, match="compiled without a resolver") as info:
        m.apply({})
    assert info.value.key == "s"


def test_execute_mapping_problems() -> None:
    with pytest.raises(MappingConfigError) as info:
        oc(resolver={}.get, mapping={"s": "{{ executeMapping(9, {}) }}"})
    assert info.value.problems == [("mapping.s", "executeMapping('9'): no mapping named '9'")]
    broken = {"b": MappingConfig(dialect="openconnector", cast={"x": "nope"})}
    with pytest.raises(MappingConfigError) as info:
        oc(resolver=broken.get, mapping={"s": "{{ executeMapping('b', {}) }}"})
    assert "executeMapping('b'): cast.x: unknown cast 'nope'" in str(info.value)
    dynamic = oc(resolver={}.get, mapping={"s": "{{ executeMapping(id, {}) }}"})
    with pytest.raises(MappingError, match="no mapping named 'zz'"):
        dynamic.apply({"id": "zz"})
    with pytest.raises(MappingError, match=r"Argument #2 \(\$input\) must be of type array, null given"):
        oc(resolver={"4": STATUS}.get, mapping={"s": "{{ executeMapping(4, nope) }}"}).apply({})


def test_a_mapping_calling_itself_stops_at_a_depth_limit() -> None:
    found: dict[str, MappingConfig] = {}
    found["self"] = MappingConfig(
        dialect="openconnector", mapping={"again": "{{ executeMapping('self', _context ?? {})|json_encode }}"}
    )
    m = compile_mapping("self", found["self"], resolver=found.get)
    with pytest.raises(MappingError, match="nested more than 16 deep"):
        m.apply({})
