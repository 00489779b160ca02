"""A connector's keyed memory: one stored row per key, written as keys change.

``ReadContext.state`` is one JSON document, rewritten whole with every committed batch: right for a
few values, wrong for something that grows with the source. A file drop with ``after: keep``
remembers every file it processed; kept in ``state``, 6,000 files cost 4.9 ms per file and rising,
because each file's commit re-encoded and rewrote the memory of all the others. Here only the keys
that changed since the last commit are written (``connector_memory`` table), so a commit costs the
same whether the pipeline remembers ten keys or a million.

Values are replaced, never edited in place: ``memory[k] = {**memory[k], "mtime": m}``, since a
nested edit is invisible to the change tracking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class MemoryChanges:
    """What changed since the last :meth:`Memory.take_changes`: keys set (with their values) and
    keys removed."""

    values: dict[str, Any] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.values or self.removed)


class Memory(MutableMapping[str, Any]):
    """A dict of JSON values that records which keys changed since its changes were last taken."""

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items: dict[str, Any] = dict(items or {})
        self._changes = MemoryChanges()

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = value
        self._changes.values[key] = value
        self._changes.removed.discard(key)

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._changes.values.pop(key, None)
        self._changes.removed.add(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        pending = len(self._changes.values) + len(self._changes.removed)
        return f"Memory({len(self._items)} keys, {pending} changed)"

    @property
    def changed(self) -> bool:
        return bool(self._changes)

    def take_changes(self) -> MemoryChanges:
        """The changes so far, which the caller now owns (and writes); tracking starts afresh."""
        changes, self._changes = self._changes, MemoryChanges()
        return changes

    def give_back(self, changes: MemoryChanges) -> None:
        """Changes taken for a write that failed: tracked again, except keys changed since."""
        mine = self._changes
        for key, value in changes.values.items():
            if key not in mine.values and key not in mine.removed:
                mine.values[key] = value
        for key in changes.removed:
            if key not in mine.values:
                mine.removed.add(key)


__all__ = ["Memory", "MemoryChanges"]
