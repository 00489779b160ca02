"""YAML parsed together with where each key is, so every problem can name its line.

PyYAML's composer gives nodes with marks; the same nodes are then constructed into plain Python
data. :class:`LineMap` remembers, for every key path, the line and column of the key (or of the
list item), and which keys were written twice (PyYAML silently keeps the last one; we refuse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Key = str | int
KeyPath = tuple[Key, ...]


def format_path(path: Sequence[Any]) -> str:
    """``("pipelines", "p", "triggers", 0, "schedule")`` → ``pipelines.p.triggers[0].schedule``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Duplicate:
    path: KeyPath
    line: int
    first_line: int


@dataclass
class LineMap:
    """Key path → (line, column) of the key, 1-based."""

    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)

    @classmethod
    def of(cls, root: yaml.Node | None) -> LineMap:
        """Positions of a composed-and-constructed tree (merge keys already flattened: an own key
        written after ``<<: *base`` overrides the merged one, so the last occurrence wins)."""
        lines = cls()
        if root is not None:
            lines.positions[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
            lines._walk(root, (), set())
        return lines

    def _walk(self, node: yaml.Node, path: KeyPath, ancestors: set[int]) -> None:
        if id(node) in ancestors:  # a recursive alias (&a [*a]); the data itself is rejected later
            return
        ancestors = ancestors | {id(node)}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, _key(key_node))
                self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                self._walk(value_node, child, ancestors)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = (*path, i)
                self.positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
                self._walk(item, child, ancestors)

    def position(self, path: Sequence[Any]) -> tuple[int | None, int | None]:
        """Where ``path`` is written, or where its nearest written parent is (for a missing key)."""
        norm: list[Key] = []
        for part in path:
            norm.append(part if isinstance(part, int) and not isinstance(part, bool) else str(part))
        for end in range(len(norm), -1, -1):
            candidate = tuple(norm[:end])
            if candidate in self.positions:
                return self.positions[candidate]
            # a YAML key written as a number (`1: x`) is stored as text; pydantic may say 1
            alt = tuple(str(p) for p in candidate)
            if alt in self.positions:
                return self.positions[alt]
        return None, None

    def line(self, path: Sequence[Any]) -> int | None:
        return self.position(path)[0]

    def split_dotted(self, prefix: KeyPath, dotted: str) -> KeyPath:
        """Turn ``mapping.address.city`` under ``prefix`` into a key path, matching the longest written
        key at each level (keys may themselves contain dots: mapping outputs such as ``address.city``)."""
        path = prefix
        rest = dotted
        while rest:
            children = [p[-1] for p in self.positions if len(p) == len(path) + 1 and p[: len(path)] == path]
            best = None
            for key in children:
                k = str(key)
                if (rest == k or rest.startswith(k + ".")) and (best is None or len(k) > len(str(best))):
                    best = key
            if best is None:
                return (*path, *rest.split("."))
            path = (*path, best)
            rest = rest[len(str(best)) + 1 :]
        return path


def _key(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else repr(node.value)


#: node visits allowed while walking a document; aliases of aliases can blow up exponentially
MAX_NODES = 1_000_000


def find_duplicates(root: yaml.Node | None) -> list[Duplicate]:
    """Keys written twice in one mapping, found before merge keys are flattened (a key that
    overrides a merged ``<<: *base`` entry is not a duplicate). Refuses recursive aliases and
    alias bombs."""
    found: list[Duplicate] = []
    visits = 0

    def walk(node: yaml.Node, path: KeyPath, ancestors: frozenset[int]) -> None:
        nonlocal visits
        visits += 1
        if visits > MAX_NODES:
            raise YamlSyntaxError("too many aliases expanded (more than a million values)", None, None)
        if id(node) in ancestors:
            raise YamlSyntaxError(
                "an alias refers to the anchor it is inside of (recursive data is not supported)",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
        ancestors = ancestors | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    walk(value_node, path, ancestors)
                    continue
                key, line = _key(key_node), key_node.start_mark.line + 1
                if key in seen:
                    found.append(Duplicate((*path, key), line, seen[key]))
                else:
                    seen[key] = line
                walk(value_node, (*path, key), ancestors)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i), ancestors)

    if root is not None:
        walk(root, (), frozenset())
    return found


class YamlSyntaxError(Exception):
    """Malformed YAML: ``line``/``column`` (1-based) and the parser's own message."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse_yaml(text: str) -> tuple[Any, LineMap]:
    """Parse one YAML document into plain data plus its :class:`LineMap`."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        duplicates = find_duplicates(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        if exc.context_mark is not None and exc.problem_mark is not None and exc.context:
            parts[0] = f"{exc.context} (line {exc.context_mark.line + 1})"
        raise YamlSyntaxError(
            ": ".join(parts) or "malformed YAML",
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), None, None) from None
    finally:
        loader.dispose()
    lines = LineMap.of(root)
    lines.duplicates = duplicates
    return data, lines
