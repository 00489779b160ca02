"""What every converter shares: the report, the names handed out, the reference index, secrets.

:class:`Ledger` is how "nothing dropped silently" is enforced: a converter ``take``s each key it
carries over, and :meth:`Ledger.close` reports every key that was left — as bookkeeping when it is
one of the original's metadata fields, as *dropped* otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from openconnector.config.interpolate import escape
from openconnector.importers.openconnector.naming import NameBook, env_name, slugify
from openconnector.importers.openconnector.reading import Found
from openconnector.importers.openconnector.report import EnvVar, Kind, Report

#: fields every entity of the original has that are bookkeeping, not configuration
METADATA = frozenset(
    {
        "id",
        "uuid",
        "version",
        "slug",
        "reference",
        "created",
        "updated",
        "dateCreated",
        "dateModified",
        "configurations",
        "status",
        "@context",
        "@type",
        "@id",
    }
)


def in_file(found: Found, key: str) -> str:
    """A key of an object as a path inside its file: ``components.mappings.default[0].cast.age``
    for an object inside a bundle, just ``cast.age`` for a file that is the object."""
    if not found.where:
        return key
    if not key:
        return found.where
    return f"{found.where}.{key}"


def is_empty(value: Any) -> bool:
    """A value that carries no setting (PHP ``empty()`` minus ``0``/``"0"``, which can mean something)."""
    return value is None or value == "" or value == [] or value == {} or value is False


def lit(value: Any) -> Any:
    """An exported value as it must be written to the YAML: every ``${`` escaped, so the loader's
    environment interpolation leaves the original's text alone."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {str(k): lit(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lit(v) for v in value]
    return value


def dot_expand(config: Any) -> dict[str, Any]:
    """The original's ``applyConfigDot``: ``{"query.zql": x}`` becomes ``{"query": {"zql": x}}``.

    Exports write source and synchronization configuration either flat with dotted keys (what the
    UI stores) or nested; both mean the same thing, so both are read through this.
    """
    if not isinstance(config, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in config.items():
        parts = str(key).split(".")
        cur = out
        for part in parts[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                cur[part] = nxt
            cur = nxt
        last = parts[-1]
        if isinstance(value, dict) and isinstance(cur.get(last), dict):
            cur[last].update(dot_expand(value))
        else:
            cur[last] = dot_expand(value) if isinstance(value, dict) else value
    return out


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Leaves of a nested dict as ``(dotted key, value)``: how each dropped setting is reported."""
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return [(prefix, value)]


@dataclass
class Imported:
    """An exported object and the name it has in the YAML."""

    found: Found
    name: str
    handles: set[str] = field(default_factory=set)
    #: why it could not be converted (a ``database`` source, a push synchronization), if it could not
    unconvertible: str | None = None


def handles_of(data: dict[str, Any]) -> set[str]:
    """Every string the original may use to refer to this object: id, uuid, slug, name, reference."""
    out: set[str] = set()
    for key in ("id", "uuid", "slug", "reference", "@id", "name"):
        value = data.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            out.add(str(value).strip())
    name = data.get("name")
    if isinstance(name, str) and slugify(name):
        out.add(slugify(name))
    return out


class Index:
    """Imported objects per kind, found by any of their handles."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[Imported]] = {}

    def add(self, kind: str, item: Imported) -> None:
        self.by_kind.setdefault(kind, []).append(item)

    def all(self, kind: str) -> list[Imported]:
        return list(self.by_kind.get(kind, []))

    def find(self, kind: str, ref: Any) -> list[Imported]:
        text = str(ref).strip()
        return [item for item in self.by_kind.get(kind, []) if text in item.handles]

    def named(self, kind: str, text: str) -> list[Imported]:
        """Objects ``text`` names on the command line: their YAML name, slug, name, or their file (its
        path as reported, the end of that path, its name with or without ``.json``)."""
        hits = []
        for item in self.by_kind.get(kind, []):
            f = item.found
            file = PurePath(f.file)
            names = {item.name, f.file, f.label, file.name, file.stem}
            if text in names or text in item.handles or f.file.endswith("/" + text.lstrip("/")):
                hits.append(item)
        return hits


@dataclass
class Context:
    report: Report
    names: NameBook = field(default_factory=NameBook)
    index: Index = field(default_factory=Index)
    #: YAML sections the converters fill; placeholders go in here too
    registers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: source name → query parameters set on the source in the original (sent with every call)
    source_query: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: source name → the method the original listed with (``listMethod``), when it was not GET
    source_method: dict[str, str] = field(default_factory=dict)
    #: source name → False when the original source was disabled
    source_enabled: dict[str, bool] = field(default_factory=dict)
    #: placeholder name → the reference it stands for, per section
    placeholders: dict[str, dict[str, str]] = field(default_factory=dict)
    _env_taken: set[str] = field(default_factory=set)

    def secret(self, found: Found, key: str, purpose: str, *name_parts: str) -> str:
        """A fresh ``${NAME}`` for a credential that stays out of the YAML; recorded in the report."""
        base = env_name(*name_parts)
        name, n = base, 2
        while name in self._env_taken:
            name, n = f"{base}_{n}", n + 1
        self._env_taken.add(name)
        self.report.env.append(EnvVar(name, found.file, in_file(found, key), purpose))
        return "${" + name + "}"

    def add(self, kind: Kind, found: Found, key: str, message: str, *, yaml: str = "") -> None:
        self.report.add(kind, found.file, in_file(found, key), message, obj=found.title, yaml=yaml)


class Ledger:
    """Tracks which keys of one exported object were carried over; reports the rest on close."""

    def __init__(
        self, ctx: Context, found: Found, data: dict[str, Any] | None = None, prefix: str = ""
    ) -> None:
        self.ctx = ctx
        self.found = found
        self.data = found.data if data is None else data
        self.prefix = prefix
        self.done: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def take(self, key: str, default: Any = None) -> Any:
        self.done.add(key)
        return self.data.get(key, default)

    def skip(self, *keys: str) -> None:
        """Keys handled elsewhere (or reported by the caller)."""
        self.done.update(keys)

    def drop(self, key: str, why: str, *, flat: bool = True) -> None:
        """Report ``key`` (each leaf when it is nested and ``flat``) as having no equivalent."""
        self.done.add(key)
        value = self.data.get(key)
        if is_empty(value):
            return
        leaves = flatten(value, self.key(key)) if flat else [(self.key(key), value)]
        for leaf, leaf_value in leaves:
            if not is_empty(leaf_value):
                self.ctx.add("dropped", self.found, leaf, why)

    def close(self, unknown_why: str, *, metadata: Iterable[str] = METADATA) -> None:
        meta = set(metadata)
        ignored: list[str] = []
        for key in self.data:
            if key in self.done or is_empty(self.data[key]):
                continue
            if key in meta:
                ignored.append(key)
            else:
                self.drop(key, unknown_why)
        if ignored:
            self.ctx.add(
                "metadata",
                self.found,
                ", ".join(self.key(k) for k in ignored),
                "bookkeeping of the original (ids, versions, timestamps, state), not configuration: "
                "not carried over",
            )
