"""The field changes an audit entry records (``changes``), against the plain definition."""

from __future__ import annotations

import random
from typing import Any

from openconnector.audit.entries import changes, path_join
from openconnector.jsonutil import canonical


def _reference(a: dict[str, Any], b: dict[str, Any], path: str, out: list[dict[str, Any]]) -> None:
    """The definition: recurse into objects; anything else differs unless of one type, equal, and
    (lists) equal as JSON, where 1, 1.0 and true are three values."""
    for key, old in a.items():
        p = path_join(path, str(key))
        if key not in b:
            out.append({"path": p, "old": old})
            continue
        new = b[key]
        if isinstance(old, dict) and isinstance(new, dict):
            _reference(old, new, p, out)
        elif not (
            type(old) is type(new)
            and old == new
            and (not isinstance(old, (list, dict)) or canonical(old) == canonical(new))
        ):
            out.append({"path": p, "old": old, "new": new})
    for key, new in b.items():
        if key not in a:
            out.append({"path": path_join(path, str(key)), "new": new})


SCALARS: list[Any] = [1, 1.0, True, False, 0, None, "1", "", "a", 2.5]


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return _doc(rng, depth + 1)
    if roll < 0.35:
        return [rng.choice(SCALARS) for _ in range(rng.randint(0, 3))]
    return rng.choice(SCALARS)


def _doc(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    keys = ["a", "b", "c", "odd key", "x.y"]
    return {k: _value(rng, depth) for k in rng.sample(keys, rng.randint(0, len(keys)))}


def _mutate(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    for key in list(out):
        roll = rng.random()
        if roll < 0.15:
            del out[key]
        elif roll < 0.35:
            out[key] = _value(rng, 1)
        elif isinstance(out[key], dict) and roll < 0.6:
            out[key] = _mutate(rng, out[key])
    if rng.random() < 0.2:
        out["new"] = _value(rng, 1)
    return out


def test_changes_match_the_definition_on_random_documents() -> None:
    rng = random.Random(20261129)
    for _ in range(3_000):
        before = _doc(rng)
        after = _mutate(rng, before)
        expected: list[dict[str, Any]] = []
        _reference(before, after, "$", expected)
        assert changes(before, after) == expected, (before, after)


def test_one_true_and_one_point_zero_are_three_values_even_inside_lists() -> None:
    before = {"n": 1, "flags": [1, 0], "same": [1, "a"], "nested": {"v": 1.0}}
    after = {"n": True, "flags": [True, False], "same": [1, "a"], "nested": {"v": 1}}
    assert changes(before, after) == [
        {"path": "$.n", "old": 1, "new": True},
        {"path": "$.flags", "old": [1, 0], "new": [True, False]},
        {"path": "$.nested.v", "old": 1.0, "new": 1},
    ]
    assert changes(before, dict(before)) == []
    assert changes({"odd key": 1}, {}) == [{"path": "$['odd key']", "old": 1}]
