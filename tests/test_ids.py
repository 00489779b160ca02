from __future__ import annotations

import time
import uuid

from openconnector.ids import uuid7


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
