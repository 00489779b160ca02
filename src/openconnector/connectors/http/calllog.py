"""A bounded log of failed HTTP calls, secrets already masked, for run errors and debugging."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

SNIPPET_CHARS = 300


def snippet(body: bytes | str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a body as one line of text, for messages: enough to recognise an HTML error
    page or a JSON error object, never the whole payload."""
    head = body[: limit * 4]
    text = head.decode("utf-8", errors="replace") if isinstance(head, bytes) else head
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


@dataclass(slots=True)
class Call:
    """One failed attempt. ``url`` and every text field are already masked."""

    method: str
    url: str
    status: int | None
    elapsed_s: float
    attempt: int
    error: str | None = None
    snippet: str | None = None
    request_headers: dict[str, str] | None = None
    where: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        outcome = f"HTTP {self.status}" if self.status is not None else (self.error or "failed")
        tail = f": {self.snippet}" if self.snippet else ""
        return f"{self.method} {self.url} → {outcome} in {self.elapsed_s:.3f}s (attempt {self.attempt}){tail}"


class CallLog:
    """The last ``size`` failed calls; each one is also logged at WARNING."""

    def __init__(self, logger: logging.Logger | None = None, size: int = 100) -> None:
        self.logger = logger or logging.getLogger("openconnector.http")
        self._calls: deque[Call] = deque(maxlen=size)

    def add(self, call: Call) -> None:
        self._calls.append(call)
        self.logger.warning("%s", call)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls))

    def __len__(self) -> int:
        return len(self._calls)

    def clear(self) -> None:
        self._calls.clear()


__all__ = ["SNIPPET_CHARS", "Call", "CallLog", "snippet"]
