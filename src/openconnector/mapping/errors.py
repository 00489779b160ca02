"""The two ways a mapping fails: at compile time (the config is wrong) or on one record (the data is)."""

from __future__ import annotations

from collections.abc import Iterable


class MappingError(Exception):
    """One record could not be mapped; the pipeline quarantines that record and carries on.

    ``key`` is the output key whose value failed (None when the failure is not tied to one key).
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message, key)  # both in args, so the error survives pickling (workers)
        self.message = message
        self.key = key

    def __str__(self) -> str:
        return self.message if self.key is None else f"{self.key}: {self.message}"


class MappingConfigError(ValueError):
    """Everything wrong with a mapping's configuration, found in one compile.

    ``problems`` are (key path, message) pairs, e.g. ``("cast.age", "unknown cast 'integr'; ...")``;
    the key path's first segment is the section (``mapping``, ``cast``, ``unset``, ``dialect``) and
    the rest is the output key exactly as written (it may itself contain dots).
    """

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems: list[tuple[str, str]] = [(str(p), str(m)) for p, m in problems]
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "; ".join(f"{path}: {message}" for path, message in self.problems)
