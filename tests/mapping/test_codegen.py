"""The generated mapping function (mapping/codegen.py) against the step closures it stands in for."""

from __future__ import annotations

import random
from typing import Any

from openconnector.config.models import MappingConfig
from openconnector.mapping.codegen import Call, Field, Pair, Spec, Text, generate
from openconnector.mapping.native import _getter, _path_step, _template_step, compile_native_mapping
from openconnector.mapping.templates import compile_native, shared_native_environment

VALUES: list[Any] = ["Ada", "", 0, 7, 2.5, True, False, None, [1, "x"], {"k": 1, "j": [None]}, "é ✓"]


def random_record(rng: random.Random) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name in ("first", "last", "email", "age"):
        if rng.random() < 0.8:
            record[name] = rng.choice(VALUES)
    parent = rng.random()
    if parent < 0.6:
        record["address"] = {k: rng.choice(VALUES) for k in ("city", "zip") if rng.random() < 0.8}
    elif parent < 0.8:
        record["address"] = rng.choice([["a", "b"], "text", None, 3])
    return record


def both(entries: dict[str, str]) -> tuple[Any, Any]:
    """The entries as the generated function inlines them, and as the closures alone."""
    env = shared_native_environment()
    inlined: list[Spec] = []
    called: list[Spec] = []
    for key, value in entries.items():
        if "{{" in value:
            tmpl = compile_native(env, value)
            step = _template_step(key, [key], tmpl, False)
            assert tmpl.interpolation is not None
            inlined.append(Text(tmpl.interpolation, key, step))
            called.append(Call(step))
            continue
        segs = value.split(".")
        called.append(Call(_path_step(key, [key], segs, False)))
        inlined.append(Field(segs[0], key) if len(segs) == 1 else Pair(segs[0], segs[1], key, _getter(segs)))
    return generate(inlined), generate(called)


def test_inlined_steps_give_what_the_closures_give_in_the_same_key_order() -> None:
    fast, slow = both(
        {
            "name": "{{ first }} {{ last }}",
            "email": "email",
            "city": "address.city",
            "zip": "address.zip",
            "tag": "<{{ age }}>",
            "age": "age",
            "zero": "address.0",
        }
    )
    rng = random.Random(7)
    for _ in range(3000):
        record = random_record(rng)
        got: dict[str, Any] = {}
        want: dict[str, Any] = {}
        fast(record, None, got)
        slow(record, None, want)
        assert got == want and list(got) == list(want), record
        for key in ("email", "city", "age"):  # copied, not rebuilt: the record's own object
            if key in want:
                assert got[key] is want[key]


def test_a_text_the_fast_path_cannot_take_is_rendered_by_the_template() -> None:
    m = compile_native_mapping("m", MappingConfig(mapping={"name": "{{ first }} {{ last }}"}))
    assert m.apply({"first": "Ann"}) == {"name": "Ann "}  # undefined prints empty, as in Jinja
    assert m.apply({"first": None, "last": True}) == {"name": " true"}
    assert m.apply({"first": {"b": 1, "a": [2]}, "last": 1.5}) == {"name": '{"b":1,"a":[2]} 1.5'}


def test_text_from_the_configuration_never_becomes_code() -> None:
    # names, output keys and literals reach the generated source as arguments, never as its text
    evil = 'x"); raise SystemExit(3); ("'
    m = compile_native_mapping(
        "m",
        MappingConfig(
            mapping={
                evil: evil,
                "k0": "MISSING",
                "out": "record.meta",
                "t": "'''{{ get }}\\n\"\"\"" + "{{ out }}",
            }
        ),
    )
    record = {evil: 1, "MISSING": 2, "record": {"meta": 3}, "get": "g", "out": "o"}
    assert m.apply(record) == {evil: 1, "k0": 2, "out": 3, "t": "'''g\\n\"\"\"o"}
