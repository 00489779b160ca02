from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from openconnector.ids import IdResolver, source_hash, source_hashes, uuid7


def test_layout_is_rfc_9562_version_7_with_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    u = uuid.UUID(uuid7())
    after = time.time_ns() // 1_000_000
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert before <= u.int >> 80 <= after + 1  # the counter may push a tie one millisecond on


def test_ids_are_unique_and_sort_in_creation_order() -> None:
    ids = [uuid7() for _ in range(50_000)]  # many per millisecond: the counter breaks the ties
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 36 and i.count("-") == 4 for i in ids[:100])


RECORDS: list[object] = [
    {"id": 7, "name": "a"},
    {"id": "x-1", "b": {"z": 1, "a": [1, 2]}},
    {"id": ""},  # an empty id is no id
    {"name": "no id"},
    {"id": True},  # not an int: JSON's spelling
    {"id": 1.5},
    {"id": None},
    {"id": Decimal("12.50")},
    "not an object",
    [1, 2],
]


def test_origin_ids_of_a_batch_are_the_per_record_ids() -> None:
    resolver = IdResolver("id")
    assert resolver.all(RECORDS, None) == [
        resolver(r, None) if isinstance(r, dict) else None for r in RECORDS
    ]
    assert resolver.all(RECORDS, None)[:8] == ["7", "x-1", None, None, "true", "1.5", None, "12.50"]


@pytest.mark.parametrize("spec", ["b.z", ["id", "name"], "_meta.key"])
def test_origin_ids_of_a_batch_other_paths_and_meta(spec: str | list[str]) -> None:
    resolver = IdResolver(spec)
    metas = [{"key": f"m{i}"} for i in range(len(RECORDS))]
    for meta_list in (None, metas):
        expected = [
            resolver(r, meta_list[i] if meta_list else None) if isinstance(r, dict) else None
            for i, r in enumerate(RECORDS)
        ]
        assert resolver.all(RECORDS, meta_list) == expected


def test_source_hashes_of_a_batch_are_the_per_record_hashes() -> None:
    metas = [None if i % 2 else {"line": i} for i in range(len(RECORDS))]
    assert source_hashes(RECORDS, None) == [source_hash(r, None) for r in RECORDS]
    assert source_hashes(RECORDS, metas) == [source_hash(r, m) for r, m in zip(RECORDS, metas, strict=True)]
    # key order is not a change; a value is
    assert source_hashes([{"a": 1, "b": 2}], None) == source_hashes([{"b": 2, "a": 1}], None)
    assert source_hashes([{"a": 1}], None) != source_hashes([{"a": 2}], None)


def test_a_source_hash_is_xxh3_of_the_canonical_json_as_stored_contracts_have_it() -> None:
    """Pinned: a stored contract's source hash must be what the next run computes for the same
    record, in whatever key order it comes (canonical JSON: sorted keys, no spaces)."""
    assert source_hash({"b": [1, 2], "a": "x"}, None) == "09ec6acaca0542f06f4ca2065107adce"
