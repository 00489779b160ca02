"""The native dialect: paths, templates with native types, order of steps, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from openconnector.config.models import MappingConfig
from openconnector.mapping import (
    CompiledMapping,
    MappingConfigError,
    MappingError,
    compile_expression,
    compile_mapping,
)

PERSON: dict[str, Any] = {
    "id": 7,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "contact": {"email": "ada@example.org", "phones": ["+31 1", "+31 2"]},
    "address": {"city": "Utrecht", "zip": "3511AB"},
    "age": "36",
    "tags": ["math", "poetry"],
    "active": True,
    "nothing": None,
}


def mapping(**kwargs: Any) -> CompiledMapping:
    return compile_mapping("test", MappingConfig(**kwargs))


def test_dot_paths_and_nested_output() -> None:
    out = mapping(
        mapping={
            "email": "contact.email",
            "phone": "contact.phones.1",
            "location.city": "address.city",
            "location.zip": "address.zip",
        }
    ).apply(PERSON)
    assert out == {
        "email": "ada@example.org",
        "phone": "+31 2",
        "location": {"city": "Utrecht", "zip": "3511AB"},
    }


def test_a_missing_path_is_absent_never_its_text() -> None:
    out = mapping(
        mapping={"x": "contact.fax", "y": "nope", "z": "contact.phones.5", "w": "age.deeper"}
    ).apply(PERSON)
    assert out == {}


@pytest.mark.parametrize(
    "record",
    [
        {"a": {"b": 1}},
        {"a": {"b": None}},
        {"a": {"c": 1}},
        {"a": None},
        {"a": [10, 20]},
        {"a": "text"},
        {},
        {"_meta": {"b": "from the record"}},
    ],
)
def test_one_and_two_segment_paths_resolve_like_any_path(record: dict[str, Any]) -> None:
    # `x` and `x.y` are looked up inline; `x.y.z` and list steps go through the general getter.
    m = mapping(mapping={"one": "a", "two": "a.b", "index": "a.1", "deep": "a.b.c", "meta": "_meta.b"})
    expected: dict[str, Any] = {}
    if "a" in record:
        expected["one"] = record["a"]
    a = record.get("a")
    if isinstance(a, dict) and "b" in a:
        expected["two"] = a["b"]
    if isinstance(a, list):
        expected["index"] = a[1]
    if "_meta" in record:
        expected["meta"] = record["_meta"]["b"]
    assert m.apply(record) == expected
    assert m.apply(record, {"b": "from the run"})["meta"] == "from the run"  # run metadata wins


def test_runs_of_plain_fields_keep_order_absence_and_the_steps_between_them() -> None:
    # `a: a`-style entries next to each other run as one step; the output is as if one by one
    m = mapping(
        mapping={
            "id": "id",
            "first": "first_name",
            "gone": "missing",
            "city": "address.city",
            "age": "age",
            "none": "nothing",
            "full": "{{ first_name }} {{ last_name }}",
            "tags": "tags",
            "first_name": "last_name",
        }
    )
    out = m.apply(PERSON)
    assert list(out) == ["id", "first", "city", "age", "none", "full", "tags", "first_name"]
    assert out["first"] == "Ada" and out["none"] is None and out["first_name"] == "Lovelace"
    assert out["full"] == "Ada Lovelace" and out["tags"] is PERSON["tags"]


def test_null_and_false_are_values_not_absence() -> None:
    out = mapping(mapping={"n": "nothing", "a": "active"}).apply(PERSON)
    assert out == {"n": None, "a": True}


def test_string_templates_render_text() -> None:
    out = mapping(mapping={"name": "{{ first_name }} {{ last_name }}", "n": "#{{ id }}"}).apply(PERSON)
    assert out == {"name": "Ada Lovelace", "n": "#7"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ tags }}", ["math", "poetry"]),
        ("{{ id + 1 }}", 8),
        ("{{ address }}", {"city": "Utrecht", "zip": "3511AB"}),
        ("{{ active }}", True),
        ("{{ nothing }}", None),
        ("{{ age|int * 2 }}", 72),
        ("{{ tags|length > 1 }}", True),
        ("{{ {'n': first_name, 'l': [1, 2.5]} }}", {"n": "Ada", "l": [1, 2.5]}),
        ("{{- tags|first -}}", "math"),
    ],
)
def test_a_single_expression_keeps_its_native_type(template: str, expected: Any) -> None:
    out = mapping(mapping={"v": template}).apply(PERSON)
    assert out["v"] == expected
    assert type(out["v"]) is type(expected)


def test_an_undefined_single_expression_is_absent() -> None:
    out = mapping(mapping={"v": "{{ contact.fax }}", "w": "{{ nope.deeper.still }}"}).apply(PERSON)
    assert out == {}


def test_undefined_in_text_templates_prints_empty_and_null_prints_empty() -> None:
    out = mapping(mapping={"v": "[{{ contact.fax }}|{{ nothing }}|{{ active }}]"}).apply(PERSON)
    assert out == {"v": "[||true]"}


def test_text_around_an_expression_makes_it_a_string() -> None:
    out = mapping(mapping={"v": " {{ id }}", "w": "{{ id }}{{ id }}"}).apply(PERSON)
    assert out == {"v": " 7", "w": "77"}


def test_non_strings_are_constants() -> None:
    out = mapping(mapping={"n": 5, "b": False, "z": None, "l": [1, "contact.email"], "o": {"k": "v"}}).apply(
        PERSON
    )
    assert out == {"n": 5, "b": False, "z": None, "l": [1, "contact.email"], "o": {"k": "v"}}


def test_constant_containers_are_fresh_per_record() -> None:
    m = mapping(mapping={"o": {"k": ["v"]}})
    first = m.apply({})
    first["o"]["k"].append("changed")
    assert m.apply({}) == {"o": {"k": ["v"]}}


def test_pass_through_starts_from_a_copy_and_leaves_the_input_alone() -> None:
    record = copy.deepcopy(PERSON)
    m = mapping(
        pass_through=True,
        mapping={"address.country": "{{ 'NL' }}", "full": "{{ first_name }} {{ last_name }}"},
        cast={"address.zip": "string", "age": "int"},
        unset=["contact.phones", "tags"],
    )
    out = m.apply(record)
    assert record == PERSON
    assert out["address"] == {"city": "Utrecht", "zip": "3511AB", "country": "NL"}
    assert out["age"] == 36
    assert out["contact"] == {"email": "ada@example.org"}
    assert "tags" not in out
    assert out["full"] == "Ada Lovelace"


def test_writing_inside_a_copied_value_does_not_change_the_input() -> None:
    record = copy.deepcopy(PERSON)
    out = mapping(
        mapping={"addr": "address", "addr.country": "{{ 'NL' }}", "contact": "contact"},
        cast={"contact.email": "base64"},
        unset=["addr.zip"],
    ).apply(record)
    assert record == PERSON
    assert out["addr"] == {"city": "Utrecht", "country": "NL"}
    assert out["contact"]["email"] == "YWRhQGV4YW1wbGUub3Jn"


def test_order_is_pass_through_mapping_cast_unset() -> None:
    m = mapping(
        pass_through=True,
        mapping={"age": "{{ age ~ '0' }}"},  # mapping overrides the passed-through value
        cast={"age": "int"},  # the cast sees the mapped value
        unset=["first_name"],  # unset removes a passed-through key, after casts
    )
    out = m.apply(PERSON)
    assert out["age"] == 360
    assert "first_name" not in out


def test_unset_runs_after_cast_so_a_cast_key_can_be_removed() -> None:
    out = mapping(mapping={"a": "age", "b": "id"}, cast={"a": "int"}, unset=["a"]).apply(PERSON)
    assert out == {"b": 7}


def test_meta_is_visible_to_paths_and_templates() -> None:
    m = mapping(mapping={"run": "_meta.run_id", "page": "{{ _meta.page }}", "label": "{{ _meta.run_id }}!"})
    assert m.apply(PERSON, {"run_id": "r1", "page": 2}) == {"run": "r1", "page": 2, "label": "r1!"}
    assert m.apply(PERSON) == {"label": "!"}
    assert m.apply({"_meta": {"page": 4}}) == {"page": 4, "label": "!"}


def test_dots_in_input_keys_can_be_escaped() -> None:
    out = mapping(mapping={"v": "odd\\.key.inner"}).apply({"odd.key": {"inner": 1}})
    assert out == {"v": 1}


def test_a_dict_key_wins_over_a_method_name() -> None:
    out = mapping(mapping={"v": "{{ data.items }}", "w": "{{ data.keys|length }}"}).apply(
        {"data": {"items": [1, 2], "keys": "abc"}}
    )
    assert out == {"v": [1, 2], "w": 3}


def test_a_template_error_fails_the_record_and_names_the_key() -> None:
    m = mapping(mapping={"ok": "id", "bad": "{{ first_name + 1 }}"})
    with pytest.raises(MappingError) as info:
        m.apply(PERSON)
    assert info.value.key == "bad"
    assert str(info.value).startswith("bad: template error")
    assert m.apply({"first_name": 1}) == {"bad": 2}  # the next record is unaffected


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ first_name.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ tags.__class__.__base__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "text {{ ''['__class__'] }}",
    ],
)
def test_the_sandbox_refuses_internals(template: str) -> None:
    m = mapping(mapping={"v": template})
    with pytest.raises(MappingError) as info:
        m.apply(PERSON)
    assert "refused by the sandbox" in str(info.value)
    assert info.value.key == "v"


@pytest.mark.parametrize("template", ["{{ 'x' * 10**8 }}", "{{ [1] * 2000000 }}", "{{ 9 ** 99999999 }}"])
def test_the_sandbox_refuses_huge_results(template: str) -> None:
    with pytest.raises(MappingError, match="refused by the sandbox"):
        mapping(mapping={"v": template}).apply({})
    assert mapping(mapping={"v": "{{ 'ab' * 2 }}{{ 2 ** 10 }}{{ 3 * 1.5 }}"}).apply({}) == {
        "v": "abab10244.5"
    }


def test_the_sandbox_refuses_mutation() -> None:
    m = mapping(mapping={"v": "{{ tags.append('x') }}"})
    with pytest.raises(MappingError):
        m.apply(PERSON)
    assert PERSON["tags"] == ["math", "poetry"]


def test_all_config_problems_are_reported_at_once() -> None:
    with pytest.raises(MappingConfigError) as info:
        mapping(
            mapping={
                "a": "{{ x }",
                "b": "{{ x|nofilter }}",
                "c": "{% if x %}",
                "d": "",
                "e..f": "x",
                "ok": "id",
            },
            cast={"ok": "integr", "a": "int,boool", "ghost": "int", "x": "countValue:"},
            unset=["nowhere", "a..b"],
        )
    problems = dict(info.value.problems)
    keys = [p for p, _ in info.value.problems]
    assert problems["mapping.a"] == "template syntax error: unexpected '}' (line 1)"
    assert "No filter named 'nofilter'" in problems["mapping.b"]
    assert "endif" in problems["mapping.c"]
    assert "not a dot-path" in problems["mapping.d"]
    assert "mapping.e..f" in keys
    assert problems["cast.ok"].startswith("unknown cast 'integr'; known: ")
    assert "int" in problems["cast.ok"] and "unsetIfValue==X" in problems["cast.ok"]
    assert any(p == "cast.a" and "'boool'" in m for p, m in info.value.problems)
    assert ("cast.ghost", "'ghost' is not an output key of this mapping") in info.value.problems
    assert ("unset.1", "an output path needs non-empty segments (a.b.c)") in info.value.problems
    assert not any(p == "unset.0" for p, _ in info.value.problems)  # removing what is never there is harmless
    assert any(p == "cast.x" and "countValue needs a path" in m for p, m in info.value.problems)
    assert str(info.value).startswith("mapping.a: template syntax error")


def test_errors_survive_pickling() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(MappingError("cannot cast 'x' to int", key="age")))
    assert (err.key, str(err)) == ("age", "age: cannot cast 'x' to int")
    conf = pickle.loads(pickle.dumps(MappingConfigError([("cast.a", "unknown cast 'b'")])))
    assert conf.problems == [("cast.a", "unknown cast 'b'")] and str(conf) == "cast.a: unknown cast 'b'"


def test_cast_and_unset_keys_may_be_anything_with_pass_through() -> None:
    m = mapping(pass_through=True, cast={"age": "int", "ghost": "int"}, unset=["nowhere"])
    assert m.apply({"age": "3"}) == {"age": 3}


def test_cast_on_a_child_of_an_output_key_is_allowed() -> None:
    out = mapping(mapping={"address": "address"}, cast={"address.zip": "string"}).apply(PERSON)
    assert out == {"address": {"city": "Utrecht", "zip": "3511AB"}}


def test_a_record_that_is_not_an_object_fails_clearly() -> None:
    with pytest.raises(MappingError, match="must be a JSON object, got list"):
        mapping(mapping={"a": "a"}).apply([1, 2])  # type: ignore[arg-type]


def test_list_mode_maps_each_item_and_names_the_failing_one() -> None:
    m = mapping(mapping={"n": "name"}, cast={"n": "int"})
    assert m.apply_list([{"name": "1"}, {"name": "2"}]) == [{"n": 1}, {"n": 2}]
    with pytest.raises(MappingError, match="item 1: cannot cast 'x' to int") as info:
        m.apply_list([{"name": "1"}, {"name": "x"}])
    assert info.value.key == "n"
    with pytest.raises(MappingError, match="needs a JSON list"):
        m.apply_list({"name": "1"})


def test_version_is_stable_and_follows_the_config() -> None:
    a = mapping(mapping={"a": "x"}, cast={"a": "int"})
    b = mapping(mapping={"a": "x"}, cast={"a": "int"})
    c = mapping(mapping={"a": "x"}, cast={"a": "float"})
    assert a.version == b.version != c.version
    assert len(a.version) == 32 and a.name == "test" and a.dialect == "native"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'Hello World'|b64enc }}", "SGVsbG8gV29ybGQ="),
        ("{{ 'SGVsbG8gV29ybGQ'|b64dec }}", "Hello World"),
        ("{{ '{\"a\": [1, 2]}'|json_decode }}", {"a": [1, 2]}),
        ("{{ ('{\"a\": 1}'|jsonDecode).a }}", 1),
        ("{{ tags|json_encode }}", '["math","poetry"]'),
        ("{{ 'Café Déjà Vu!'|slugify }}", "cafe-deja-vu"),
        ("{{ '2024-03-01T12:30:00Z'|date('d-m-Y H:i') }}", "01-03-2024 12:30"),
        (
            "{{ '2024-03-01T12:30:00Z'|date('D j M Y, G:i T', 'Europe/Amsterdam') }}",
            "Fri 1 Mar 2024, 13:30 CET",
        ),
        ("{{ '2024-03-01'|date('l jS F Y') }}", "Friday 1st March 2024"),
        ("{{ nothing|date('Y') }}", None),
        ("{{ first_name|lower ~ '.' ~ last_name|upper }}", "ada.LOVELACE"),
        ("{{ contact.fax|default('none') }}", "none"),
        ("{{ '  x '|trim }}", "x"),
    ],
)
def test_filters(template: str, expected: Any) -> None:
    assert mapping(mapping={"v": template}).apply(PERSON).get("v") == expected


def test_a_filter_failure_names_the_key() -> None:
    with pytest.raises(MappingError, match=r"v: template error: .*json_decode: invalid JSON"):
        mapping(mapping={"v": "{{ first_name|json_decode }}"}).apply(PERSON)
    with pytest.raises(MappingError, match="cannot read 'soon' as a date"):
        mapping(mapping={"v": "{{ 'soon'|date('Y') }}"}).apply(PERSON)


def test_compile_expression() -> None:
    older = compile_expression("age|int > 30 and 'math' in tags")
    assert older(PERSON) is True
    assert older({**PERSON, "age": "12"}) is False
    assert compile_expression("contact.fax")(PERSON) is None
    assert compile_expression("_meta.full")({**PERSON, "_meta": {"full": True}}) is True
    assert compile_expression("tags")(PERSON) == ["math", "poetry"]


def test_compile_expression_errors() -> None:
    with pytest.raises(MappingConfigError) as info:
        compile_expression("age >")
    assert info.value.problems[0][0] == "filter"
    with pytest.raises(MappingConfigError):
        compile_expression("a b")
    with pytest.raises(MappingError, match="refused by the sandbox"):
        compile_expression("''.__class__.__mro__")({})
    with pytest.raises(MappingError, match="template error"):
        compile_expression("first_name + 1")(PERSON)
