"""A connector's keyed memory tracks exactly the keys that changed, and gives back changes whose
write failed without overriding anything changed since."""

from __future__ import annotations

from openconnector.connectors.memory import Memory


def test_changes_are_the_keys_set_and_removed_since_last_taken() -> None:
    memory = Memory({"a": 1, "b": 2})
    assert not memory.changed and dict(memory) == {"a": 1, "b": 2}
    memory["c"] = 3
    memory["a"] = 10
    del memory["b"]
    changes = memory.take_changes()
    assert changes.values == {"c": 3, "a": 10} and changes.removed == {"b"}
    assert not memory.take_changes() and not memory.changed
    assert dict(memory) == {"a": 10, "c": 3} and len(memory) == 2 and "b" not in memory


def test_set_after_remove_and_remove_after_set_keep_only_the_last() -> None:
    memory = Memory({"a": 1})
    del memory["a"]
    memory["a"] = 2
    memory["n"] = 1
    memory.pop("n")
    changes = memory.take_changes()
    assert changes.values == {"a": 2} and changes.removed == {"n"}


def test_given_back_changes_never_override_newer_ones() -> None:
    memory = Memory()
    memory["a"] = 1
    memory["b"] = 1
    memory["gone"] = 1
    memory.take_changes()
    del memory["gone"]
    memory["a"] = 2
    failed = memory.take_changes()  # the write of these failed ...
    memory["a"] = 1  # ... and the connector restored a's value meanwhile (its nack)
    memory.give_back(failed)
    changes = memory.take_changes()
    assert changes.values == {"a": 1} and changes.removed == {"gone"}
