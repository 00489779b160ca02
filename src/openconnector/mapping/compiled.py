"""What compile_mapping returns, whatever the dialect."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from openconnector.mapping.errors import MappingError


class CompiledMapping(ABC):
    """A mapping compiled into plain callables: ``apply`` does no parsing.

    ``version`` is a short stable hash of the canonical configuration (and of the sub-mappings it
    calls), stored on contracts so a changed mapping re-maps unchanged records.
    """

    name: str
    version: str
    dialect: str

    @abstractmethod
    def apply(self, record: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Map one record to one output object; raises MappingError for this record only."""

    def apply_list(self, records: Any) -> Any:
        """Map each item of a list (the original's ``list = true``)."""
        if not isinstance(records, list):
            raise MappingError(f"list mode needs a JSON list as input, got {type(records).__name__}")
        out = []
        for i, record in enumerate(records):
            try:
                out.append(self.apply(record))
            except MappingError as exc:
                raise MappingError(f"item {i}: {exc.message}", key=exc.key) from exc
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} dialect={self.dialect} version={self.version}>"
