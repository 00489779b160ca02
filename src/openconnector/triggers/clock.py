"""Time for the scheduler, injectable so tests move it instead of sleeping for minutes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (may return early; callers re-check the time)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
