"""Audit tests: a fixed signing key and an anchor file per test, stores on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openconnector.audit import AuditTrail
from openconnector.registers import Store

KEY_HEX = "5f" * 32
PERSON = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "address": {"type": "object"},
        "tags": {"type": "array"},
    },
}


@pytest.fixture(autouse=True)
def audit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Key and anchor from the environment, as production configures them."""
    anchor = tmp_path / "anchor" / "audit-anchor.jsonl"
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_KEY", KEY_HEX)
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_ANCHOR", str(anchor))
    monkeypatch.delenv("OPENCONNECTOR_AUDIT_KEY_FILE", raising=False)
    return anchor


@pytest.fixture
def people(store: Store) -> Store:
    store.sync_registers({"crm": None}, {"crm/person": PERSON})
    return store


@pytest.fixture
def trail(people: Store) -> Iterator[AuditTrail]:
    yield AuditTrail.for_engine(people.engine)


def write_history(store: Store, n: int = 6) -> list[str]:
    """Through the API: n objects created, the first updated twice, the second deleted and restored
    (n + 4 entries)."""
    ids = [
        store.save_object("crm", "person", {"name": f"P{i}", "age": 30 + i, "address": {"city": "Utrecht"}},
                          actor="api:alice")["@self"]["id"]
        for i in range(n)
    ]  # fmt: skip
    store.save_object("crm", "person", {"name": "P0", "age": 31, "address": {"city": "Zwolle"}},
                      object_id=ids[0], actor="api:bob")  # fmt: skip
    later = {"name": "P0", "age": 32, "address": {"city": "Zwolle"}, "tags": ["x"]}
    store.save_object("crm", "person", later, object_id=ids[0], actor="api:bob")
    store.delete_object(ids[1], actor="api:carol")
    store.save_object("crm", "person", {"name": "P1", "age": 31}, object_id=ids[1], actor="api:carol")
    return ids
