"""Client-side rate limit: a token bucket shared by every request of one transport."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """At most ``rate`` requests per second on average, with bursts of up to ``burst``.

    Waiters queue on a lock, so they are served in arrival order and never all wake at once.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()
        self.waited = 0.0  # total seconds spent waiting, for the run log and tests

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self.waited += wait
                await asyncio.sleep(wait)
                self._refill()
            self._tokens -= 1


__all__ = ["TokenBucket"]
