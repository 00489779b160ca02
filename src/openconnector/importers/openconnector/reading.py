"""Find the export files, parse them, and tell sources, mappings and synchronizations apart.

The original exports objects one per file (``configurations/*/sources/*.json``, the object's own
JSON, optionally with JSON-LD ``@type``), as a list, or as a configuration bundle
(``{"components": {"sources": ..., "mappings": ..., "synchronizations": ...}}``). None of these
formats says what an object is in a way every version agrees on, so objects are recognised by their
keys — the same keys the original's entities declare (``lib/Db/*.php``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openconnector.importers.openconnector.report import Report

#: kinds we recognise; only the first three (and jobs, as schedules) are converted
KINDS = ("source", "mapping", "synchronization", "job", "endpoint", "rule", "register", "schema")

_TYPE_ALIASES = {
    "source": "source",
    "mapping": "mapping",
    "synchronization": "synchronization",
    "sync": "synchronization",
    "job": "job",
    "endpoint": "endpoint",
    "rule": "rule",
    "register": "register",
    "schema": "schema",
}
_COMPONENT_KINDS = {
    "sources": "source",
    "mappings": "mapping",
    "synchronizations": "synchronization",
    "jobs": "job",
    "endpoints": "endpoint",
    "rules": "rule",
    "registers": "register",
    "schemas": "schema",
}
_SYNC_KEYS = frozenset(
    {
        "sourceId",
        "sourceType",
        "sourceConfig",
        "sourceTargetMapping",
        "sourceHashMapping",
        "targetId",
        "targetType",
        "targetConfig",
        "targetSourceMapping",
        "followUps",
    }
)
_SOURCE_KEYS = frozenset(
    {"type", "auth", "configuration", "isEnabled", "authorizationHeader", "authenticationConfig", "apikey"}
)


class ExportReadError(Exception):
    """Input that cannot be imported at all: a path that does not exist, a file that is not JSON.

    ``problems`` holds one line per bad file (every bad file at once), each naming the file and,
    for a parse error, the line and column.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class Found:
    """One exported object: what it is, its JSON, the file it came from and where in that file."""

    kind: str
    data: dict[str, Any]
    file: str
    where: str = ""  # "" for a file that is the object; "[2]", "components.mappings.default[0]"

    @property
    def label(self) -> str:
        return f"{self.file} {self.where}" if self.where else self.file

    @property
    def title(self) -> str:
        name = self.data.get("name") or self.data.get("slug") or self.data.get("title")
        return f"{self.kind} {name!r}" if isinstance(name, str) and name else self.kind


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is below it, else absolute."""
    full = Path(os.path.abspath(path))
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(full)


def common_base(files: list[Path]) -> Path:
    """The deepest folder holding every file: export files are named relative to it in the report and
    the YAML header, which keeps messages short and independent of where the import runs."""
    if not files:
        return Path.cwd()
    return Path(os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]))


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named on the command line, and every ``*.json`` below the folders named, sorted.

    Sorting is what makes the import reproducible: objects are named (and clashing names
    suffixed) in this order.
    """
    problems: list[str] = []
    files: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                if file.is_file():
                    files.setdefault(os.path.abspath(file), file)
        elif path.is_file():
            files.setdefault(os.path.abspath(path), path)
        else:
            problems.append(f"{path}: no such file or folder")
    if problems:
        raise ExportReadError(problems)
    return [files[key] for key in sorted(files)]


def parse_file(path: Path) -> Any:
    """The file's JSON; ``ValueError`` with a message that says what is wrong and where."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def classify(obj: dict[str, Any]) -> str | None:
    """What an exported object is, from its ``@type`` or else its keys; ``None`` if it is none of them."""
    declared = obj.get("@type")
    if isinstance(declared, str) and declared.lower() in _TYPE_ALIASES:
        return _TYPE_ALIASES[declared.lower()]
    keys = set(obj)
    if keys & {"endpointRegex", "endpointArray"} or {"endpoint", "method"} <= keys:
        return "endpoint"
    if "jobClass" in keys:
        return "job"
    if keys & _SYNC_KEYS:
        return "synchronization"
    if isinstance(obj.get("mapping"), (dict, list)):
        return "mapping"
    if {"action", "timing"} <= keys:
        return "rule"
    if "location" in keys and keys & _SOURCE_KEYS:
        return "source"
    return None


def _bundle(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(kind, object, where) for every object of a configuration bundle's ``components``."""
    components = doc["components"]
    for section in sorted(components):
        kind = _COMPONENT_KINDS.get(section)
        value = components[section]
        items: list[tuple[str, Any, str | None]] = []
        if isinstance(value, list):
            items = [(f"components.{section}[{i}]", v, None) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            for key, sub in value.items():
                if isinstance(sub, list):  # grouped by component type: {"default": [ ... ]}
                    items += [(f"components.{section}.{key}[{i}]", v, None) for i, v in enumerate(sub)]
                else:  # keyed by slug
                    items.append((f"components.{section}.{key}", sub, str(key)))
        for where, item, slug in items:
            if not isinstance(item, dict):
                continue
            if slug is not None and "slug" not in item:
                item = {**item, "slug": slug}
            found = kind or classify(item)
            if found is not None:
                yield found, item, where


def read_exports(paths: Iterable[str | Path], report: Report) -> list[Found]:
    """Every exported object in ``paths``; files that are JSON but not exports go to the report.

    Raises :class:`ExportReadError` (listing every bad file) when a file cannot be parsed: an
    import that silently skipped a broken mapping file would break the references to it.
    """
    files = collect_files(paths)
    base = common_base(files)
    report.base = display_path(base)
    problems: list[str] = []
    found: list[Found] = []
    for path in files:
        shown = os.path.relpath(os.path.abspath(path), base)
        try:
            doc = parse_file(path)
        except ValueError as exc:
            problems.append(f"{display_path(path)}: {exc}")
            continue
        before = len(found)
        if isinstance(doc, dict) and isinstance(doc.get("components"), dict):
            found += [Found(kind, obj, shown, where) for kind, obj, where in _bundle(doc)]
        elif isinstance(doc, list):
            for i, item in enumerate(doc):
                kind = classify(item) if isinstance(item, dict) else None
                if kind is None:
                    report.add("skipped", shown, f"[{i}]", "not an OpenConnector object (" + _why(item) + ")")
                else:
                    found.append(Found(kind, item, shown, f"[{i}]"))
        elif isinstance(doc, dict):
            kind = classify(doc)
            if kind is not None:
                found.append(Found(kind, doc, shown))
        report.files[shown] = []
        if len(found) == before and not (isinstance(doc, list) and doc):
            report.add(
                "skipped", shown, "", "not an OpenConnector export (" + _why(doc) + "); nothing imported"
            )
    if problems:
        raise ExportReadError(problems)
    return found


def _why(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(sorted(map(str, doc))[:8]) + (", …" if len(doc) > 8 else "")
        return (
            "it has none of the keys of a source, mapping or synchronization; its keys: " + keys
            if doc
            else "an empty object"
        )
    if isinstance(doc, list):
        return "an empty list"
    return f"the JSON is a {type(doc).__name__ if doc is not None else 'null'}, not an object"
