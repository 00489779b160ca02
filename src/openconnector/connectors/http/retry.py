"""When to try a request again, and how long to wait first."""

from __future__ import annotations

import random
import ssl
import time
from email.utils import parsedate_to_datetime

import httpx


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (1 = the first retry).

    Half of the delay is fixed and half random ("equal jitter"): clients that failed together do
    not come back together, and no retry comes back immediately.
    """
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent
    or unreadable. A date in the past means "now" (0)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx exception, if any: certificate problems are never retried."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def transient(exc: httpx.TransportError, idempotent: bool) -> bool:
    """Whether a transport failure is worth retrying.

    A request that never reached the server (connect errors and timeouts, pool timeouts) is always
    safe to repeat; one that may have been received (read timeouts, dropped connections) only when
    it is idempotent.
    """
    if tls_failure(exc) is not None:
        return False
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError, httpx.LocalProtocolError)):
        return False
    maybe_received = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
    return idempotent and isinstance(exc, maybe_received)


__all__ = ["backoff_delay", "parse_retry_after", "tls_failure", "transient"]
