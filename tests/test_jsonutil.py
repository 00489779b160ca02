"""JSON from sources: what orjson refuses but Python's parser takes is read, not lost."""

from __future__ import annotations

import math

import orjson
import pytest

from openconnector.jsonutil import dumps_str, loads_source


def test_nan_and_infinity_are_read_and_stored_as_null() -> None:
    doc = loads_source(b'{"data": [{"id": 1, "score": NaN, "max": Infinity, "min": -Infinity}]}')
    record = doc["data"][0]
    assert math.isnan(record["score"]) and record["max"] == math.inf and record["min"] == -math.inf
    assert dumps_str(record) == '{"id":1,"score":null,"max":null,"min":null}'


def test_plain_json_takes_orjsons_path_and_errors_keep_orjsons_position() -> None:
    assert loads_source('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    with pytest.raises(orjson.JSONDecodeError) as info:
        loads_source(b'{"data": [{"id": 1, "name": "Per')
    assert info.value.pos > 0


def test_a_byte_order_mark_is_skipped_not_a_reason_for_the_slow_parser(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    def refuse(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("the standard library's parser was used")

    monkeypatch.setattr(json, "loads", refuse)
    assert loads_source(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert loads_source('\ufeff[{"a": "\u00e9"}]') == [{"a": "\u00e9"}]


def test_encodings_are_the_body_the_canonical_bytes_and_their_hash() -> None:
    from openconnector.jsonutil import canonical, document_hash, dumps_str, encodings

    doc = {"b": 1, "a": {"y": [1, "x"], "x": None}, "é": "ü"}
    body, canon, digest = encodings(doc)
    assert body == dumps_str(doc) and list(orjson.loads(body)) == ["b", "a", "é"]  # its own order
    assert canon == canonical(doc) and canon.startswith(b'{"a":')
    assert digest == document_hash(canon)
    # pinned: a stored contract's target hash must be what the next run computes for the same document
    assert encodings({"b": [1, 2], "a": "x"})[2] == "09ec6acaca0542f06f4ca2065107adce"
