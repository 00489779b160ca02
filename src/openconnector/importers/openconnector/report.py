"""The import report: every setting that did not carry over as it was, with file, key and why.

"Nothing dropped silently" is the importer's promise; this is where it is kept. Each entry names the
export file, the key inside the exported object, what happened to it and why, and where it landed
in the YAML (if it landed anywhere). Entries are kept in the order they were found, which is the
(sorted) file order, so two imports of the same files give the same report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal[
    "invalid",  # the written project does not validate until this is fixed
    "unresolved",  # a reference to an object that is not among the imported files
    "placeholder",  # something the importer had to invent (a register, a source): fill it in
    "secret",  # a credential replaced by ${ENV}: set the variable
    "dropped",  # a setting with no equivalent: not carried over
    "changed",  # carried over, but it behaves differently here
    "skipped",  # a file or object that is not something we import
    "note",  # carried over as it was, but worth knowing (a typo recognised, a default made explicit)
    "metadata",  # bookkeeping of the original (ids, timestamps, versions): not configuration
]
Severity = Literal["error", "action", "warning", "info"]

SEVERITY: dict[str, Severity] = {
    "invalid": "error",
    "unresolved": "action",
    "placeholder": "action",
    "secret": "action",
    "dropped": "warning",
    "changed": "warning",
    "skipped": "info",
    "note": "info",
    "metadata": "info",
}


@dataclass(frozen=True, slots=True)
class Entry:
    kind: Kind
    file: str
    key: str
    message: str
    object: str = ""  # "synchronization 'Xxllnc cases to ZGW zaken'"
    yaml: str = ""  # where it landed: "pipelines.xxllnc-cases-to-zgw-zaken.read.records"

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "file": self.file,
            "key": self.key,
            "object": self.object,
            "message": self.message,
            "yaml": self.yaml,
        }


@dataclass(frozen=True, slots=True)
class EnvVar:
    """An environment variable the imported project needs (it stands in for a credential)."""

    name: str
    file: str
    key: str
    purpose: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "file": self.file, "key": self.key, "purpose": self.purpose}


@dataclass
class Report:
    entries: list[Entry] = field(default_factory=list)
    env: list[EnvVar] = field(default_factory=list)
    #: file → the objects found in it: (kind, name as in the export, name in the YAML or "")
    files: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    output: str | None = None
    #: the folder the export files are named relative to
    base: str = ""
    written: bool = False
    #: ``None`` until the written file was checked with the config loader
    valid: bool | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: Kind, file: str, key: str, message: str, *, obj: str = "", yaml: str = "") -> None:
        self.entries.append(Entry(kind, file, key, message, obj, yaml))

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [e for e in self.entries if e.kind in kinds]

    def as_dict(self) -> dict[str, Any]:
        by_severity = {s: 0 for s in ("error", "action", "warning", "info")}
        for e in self.entries:
            by_severity[e.severity] += 1
        return {
            "output": self.output,
            "base": self.base,
            "written": self.written,
            "valid": self.valid,
            "counts": dict(self.counts),
            "summary": by_severity,
            "files": [
                {
                    "file": file,
                    "objects": [{"kind": k, "name": n, "imported_as": y} for k, n, y in objects],
                }
                for file, objects in self.files.items()
            ],
            "env": [v.as_dict() for v in self.env],
            "entries": [e.as_dict() for e in self.entries],
            "problems": list(self.problems),
        }
