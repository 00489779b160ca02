"""Plain interpolation templates take a fast path; it must render exactly what Jinja renders."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from openconnector.mapping.templates import compile_native, shared_native_environment

RECORDS: list[dict[str, Any]] = [
    {"first": "Anna", "last": "de Vries", "address": {"city": "Utrecht", "geo": {"lat": 52.1}}},
    {"first": None, "last": True, "address": {"city": False}},
    {"first": 1.5, "last": decimal.Decimal("2.50"), "address": {"city": ["a", 1]}},
    {"first": {"b": 1, "a": [None]}, "last": dt.date(2024, 1, 2), "address": "not a dict"},
    {"first": "Ünïcode", "address": {}},  # last missing, city missing
    {"last": 0, "address": None, "range": "a field called range"},
    {},
]

TEMPLATES = [
    "{{ first }} {{ last }}",
    "{{first}}-{{ last }}!",
    "Name: {{ first }}",
    "{{ address.city }}, {{ first }}",
    "lat {{ address.geo.lat }}",
    "{{ range }}|{{ first }}",  # a Jinja global: the record's field wins, else the global
    "{{ _meta }}{{ first }}",
]


@pytest.mark.parametrize("source", TEMPLATES)
def test_interpolation_renders_what_jinja_renders(source: str) -> None:
    env = shared_native_environment()
    compiled = compile_native(env, source)
    reference = env.from_string(source)
    assert ("_fast" in compiled.evaluate.__qualname__) == ("_meta" not in source)
    for record in RECORDS:
        expected = reference.render(record)
        assert compiled.evaluate(record, None) == expected, (source, record)


def test_single_lookup_keeps_the_value_and_its_type() -> None:
    env = shared_native_environment()
    name = compile_native(env, "{{ first }}")
    deep = compile_native(env, "{{ address.geo }}")
    tags = ["x", "y"]
    assert name.evaluate({"first": tags}, None) is tags
    assert name.evaluate({"first": None}, None) is None
    assert deep.evaluate({"address": {"geo": {"lat": 1}}}, None) == {"lat": 1}


def test_single_lookup_falls_back_to_jinja_for_what_is_missing() -> None:
    env = shared_native_environment()
    name = compile_native(env, "{{ first }}")
    deep = compile_native(env, "{{ address.city }}")
    assert not name.evaluate({}, None)  # undefined, as Jinja gives it
    assert not deep.evaluate({"address": "text"}, None)
    assert deep.evaluate({"address": {"city": "Ede"}}, None) == "Ede"


def test_unsafe_attribute_still_refused_by_the_sandbox() -> None:
    env = shared_native_environment()
    compiled = compile_native(env, "{{ first.__class__ }} x")
    with pytest.raises(Exception, match="unsafe"):
        compiled.evaluate({"first": "text"}, None)


def test_meta_comes_from_the_run_not_the_record() -> None:
    env = shared_native_environment()
    compiled = compile_native(env, "{{ _meta.key }}/{{ first }}")
    assert compiled.evaluate({"first": "a", "_meta": {"key": "rec"}}, {"key": "run"}) == "run/a"
