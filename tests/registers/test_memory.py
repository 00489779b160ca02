"""Connector memory rows on both backends: upserts, deletes, values back as they went in, and one
pipeline's keys apart from another's."""

from __future__ import annotations

from typing import Any

from openconnector.registers import Store
from openconnector.registers.memory import load_memory, write_memory


def test_write_and_load(store: Store) -> None:
    entry: dict[str, Any] = {"size": 10, "mtime": 1.5, "sha256": "ab" * 32}
    with store.engine.begin() as conn:
        write_memory(conn, "p", {"in/a.csv": entry, "ü b.csv": [1, "x"], "n": None}, set())
        write_memory(conn, "other", {"in/a.csv": 1}, set())
    assert load_memory(store.engine, "p") == {"in/a.csv": entry, "ü b.csv": [1, "x"], "n": None}
    with store.engine.begin() as conn:
        write_memory(conn, "p", {"in/a.csv": {**entry, "mtime": 2.5}}, {"n", "never there"})
    assert load_memory(store.engine, "p") == {"in/a.csv": {**entry, "mtime": 2.5}, "ü b.csv": [1, "x"]}
    assert load_memory(store.engine, "other") == {"in/a.csv": 1}


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    try:
        with store.engine.begin() as conn:
            write_memory(conn, "p", {"a": 1}, set())
            raise RuntimeError("the batch failed")
    except RuntimeError:
        pass
    assert load_memory(store.engine, "p") == {}
