"""adbario/php-dot-notation (``Dot``) semantics over JSON values, as the original engine uses them.

PHP arrays are both lists and objects; here lists stay lists as long as PHP would still encode them
as JSON lists (keys 0..n-1), and become objects with string keys when PHP's would not (a key added
past the end, an element unset from the middle). ``&#46;`` in a path segment is a literal ``.``.
"""

from __future__ import annotations

from typing import Any


def split_dot(path: str) -> list[str]:
    return [s.replace("&#46;", ".") for s in path.split(".")]


def _index(seg: str, length: int) -> int | None:
    if seg.isdigit() and (seg == "0" or seg[0] != "0"):
        i = int(seg)
        return i if i < length else None
    return None


def dot_has(data: Any, segments: list[str]) -> bool:
    if len(segments) == 1 and type(data) is dict:
        return segments[0] in data
    cur = data
    for seg in segments:
        if isinstance(cur, dict):
            if seg not in cur:
                return False
            cur = cur[seg]
        elif isinstance(cur, list):
            i = _index(seg, len(cur))
            if i is None:
                return False
            cur = cur[i]
        else:
            return False
    return True


def dot_get(data: Any, segments: list[str]) -> Any:
    """The value at the path, or None (``Dot::get`` default) when absent."""
    if len(segments) == 1 and type(data) is dict:
        return data.get(segments[0])
    cur = data
    for seg in segments:
        if isinstance(cur, dict):
            if seg not in cur:
                return None
            cur = cur[seg]
        elif isinstance(cur, list):
            i = _index(seg, len(cur))
            if i is None:
                return None
            cur = cur[i]
        else:
            return None
    return cur


def _as_object(items: list[Any]) -> dict[str, Any]:
    return {str(i): v for i, v in enumerate(items)}


def _child_slot(container: Any, seg: str) -> tuple[Any, Any]:
    """(container to write into, key) for ``seg``: a list grows at its end or turns into an object."""
    if isinstance(container, list):
        if seg.isdigit() and (seg == "0" or seg[0] != "0") and int(seg) <= len(container):
            return container, int(seg)
        return None, None
    return container, seg


def dot_set(data: dict[str, Any], segments: list[str], value: Any) -> None:
    """``Dot::set``: create (or replace non-array) intermediates, then assign."""
    if len(segments) == 1:
        data[segments[0]] = value
        return
    parent: Any = None
    parent_key: Any = None
    cur: Any = data
    for depth, seg in enumerate(segments):
        last = depth == len(segments) - 1
        target, key = _child_slot(cur, seg)
        if target is None:  # a list gets a non-index key: PHP's array is an object from now on
            target = _as_object(cur)
            parent[parent_key] = target
            key = seg
            cur = target
        if last:
            if isinstance(target, list) and key == len(target):
                target.append(value)
            else:
                target[key] = value
            return
        if isinstance(target, list):
            if key == len(target):
                target.append({})
            nxt = target[key]
            if not isinstance(nxt, (dict, list)):
                nxt = target[key] = {}
        else:
            nxt = target.get(key)
            if not isinstance(nxt, (dict, list)):
                nxt = target[key] = {}
        parent, parent_key, cur = target, key, nxt


def dot_delete(data: dict[str, Any], segments: list[str]) -> None:
    """``Dot::delete``: unset the leaf; a list losing an inner element becomes an object (a PHP hole)."""
    parent: Any = None
    parent_key: Any = None
    cur: Any = data
    for seg in segments[:-1]:
        parent, parent_key = cur, seg
        if isinstance(cur, dict):
            if not isinstance(cur.get(seg), (dict, list)):
                return
            cur = cur[seg]
        elif isinstance(cur, list):
            i = _index(seg, len(cur))
            if i is None or not isinstance(cur[i], (dict, list)):
                return
            parent_key = i
            cur = cur[i]
        else:
            return
    last = segments[-1]
    if isinstance(cur, dict):
        cur.pop(last, None)
    elif isinstance(cur, list):
        i = _index(last, len(cur))
        if i is None:
            return
        if i == len(cur) - 1:
            cur.pop()
        else:
            obj = _as_object(cur)
            del obj[last]
            if parent is None:  # pragma: no cover - the output root is always an object
                return
            parent[parent_key] = obj


def listify(data: Any, segments: list[str]) -> None:
    """Turn the object at ``segments`` into a list when its keys are 0..n-1 (PHP would encode a list)."""
    parent: Any = None
    key: Any = None
    cur = data
    for seg in segments:
        parent, key = cur, seg
        if isinstance(cur, dict):
            if seg not in cur:
                return
            cur = cur[seg]
        elif isinstance(cur, list):
            i = _index(seg, len(cur))
            if i is None:
                return
            key = i
            cur = cur[i]
        else:
            return
    if isinstance(cur, dict) and cur and all(k == str(i) for i, k in enumerate(cur)) and parent is not None:
        parent[key] = list(cur.values())
