"""The YAML file stays the source of truth when resources change through the API.

A write reads the file as written (``${VAR}`` references intact), applies the change, checks the
whole new configuration with the same loader as ``openconnector validate`` (so the API reports
exactly the problems the CLI would, each with its key path), and only then replaces the file
atomically (temporary file + rename, the old version kept as ``<file>.bak``) and swaps the
in-memory project. The rewrite does not keep YAML comments or anchors.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from openconnector.config import ConfigError, Project, load_project

Change = Callable[[dict[str, Any]], "dict[Path, bytes] | None"]


class ConfigInvalid(Exception):
    """The change would make the configuration invalid; ``problems`` as ``{"path", "message", ...}``."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"the configuration would have {len(problems)} problem(s)")
        self.problems = problems


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class ConfigFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser().absolute()
        self.project: Project = load_project(self.path)
        self._lock = threading.Lock()
        self.listeners: list[Callable[[Project], None]] = []

    def raw(self) -> dict[str, Any]:
        """The file as written (no interpolation, schema paths as paths)."""
        data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def reload(self) -> Project:
        with self._lock:
            return self._swap()

    def _swap(self) -> Project:
        self.project = load_project(self.path)
        for listener in self.listeners:
            listener(self.project)
        return self.project

    def check(self, raw: dict[str, Any]) -> None:
        """Validate ``raw`` as if it were the file; :class:`ConfigInvalid` with every problem."""
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.check.yaml")
        tmp.write_text(dump_yaml(raw), encoding="utf-8")
        try:
            load_project(tmp)
        except ConfigError as exc:
            raise ConfigInvalid(self._problems(exc, str(tmp))) from None
        finally:
            tmp.unlink(missing_ok=True)

    def _problems(self, exc: ConfigError, tmp: str) -> list[dict[str, Any]]:
        out = []
        for p in exc.problems:
            doc = p.as_dict()
            if p.file == tmp:
                # lines of a file the user never saw would only mislead
                doc.update(file=self.path.name, line=None, column=None)
            out.append(doc)
        return out

    def update(self, change: Change, *, write_config: bool = True) -> Project:
        """Apply ``change`` to the file as written, validate, write, swap.

        ``change`` edits the dict in place (raising to refuse) and may return other files to write
        once the result is valid (a schema kept in its own file). With ``write_config=False`` the
        edited dict is only validated (the other files carry the change).
        """
        with self._lock:
            raw = self.raw()
            files = change(raw) or {}
            self.check(raw)
            for path, data in files.items():
                _atomic_write(path, data)
            if write_config:
                old = self.path.read_bytes()
                self.path.with_name(self.path.name + ".bak").write_bytes(old)
                _atomic_write(self.path, dump_yaml(raw).encode("utf-8"))
            return self._swap()
