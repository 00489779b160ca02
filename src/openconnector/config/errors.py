"""What `openconnector validate` reports: every problem at once, each with file, line and key path.

A :class:`Problem` never carries a configured value, only where it is and what is wrong with it, so
a secret that is misplaced or mistyped cannot leak through an error message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration.

    ``file`` is the file as the user named it (the config file, or a schema file it points at),
    ``line``/``column`` are 1-based, ``path`` is the key path (``pipelines.crm-people.read.path``;
    list items as ``triggers[0]``) or ``""`` when the problem is not about one key (malformed YAML).
    """

    file: str
    line: int | None
    path: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


def sort_problems(problems: Iterable[Problem], main_file: str) -> list[Problem]:
    """The config file's problems first, in line order; then those in other files (schema files)."""
    return sorted(
        set(problems),
        key=lambda p: (p.file != main_file, p.file, p.line is None, p.line or 0, p.column or 0, p.path),
    )


class ConfigError(Exception):
    """The configuration is not valid; ``problems`` holds every problem found, sorted by line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ConfigFileNotFound(ConfigError, FileNotFoundError):
    """The config file does not exist: a :class:`ConfigError` that is also a ``FileNotFoundError``."""

    def __init__(self, problems: list[Problem]) -> None:
        ConfigError.__init__(self, problems)
