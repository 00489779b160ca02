"""Webhook signatures: ``X-OpenConnector-Signature: t=<unix seconds>,v1=<hex>``.

``<hex>`` is HMAC-SHA256 with the pipeline's webhook secret over ``<unix seconds>.<raw body>``
(the scheme Stripe and others use). The timestamp bounds replays to a window; a signature seen
before inside that window is refused by the caller (it stores accepted signatures). Several ``v1``
entries may be sent (a sender rotating its secret); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass

HEADER = "X-OpenConnector-Signature"
WINDOW_S = 300


class SignatureError(Exception):
    """Why a signature was refused; ``outcome`` is the metric/attempt label."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True, slots=True)
class Signature:
    timestamp: int
    digests: tuple[str, ...]


def compute(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii"), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts on ``body`` (for clients, tests and the docs)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={compute(secret, ts, body)}"


def parse(header: str | None) -> Signature:
    if not header:
        raise SignatureError("missing_signature", f"the {HEADER} header is missing")
    ts: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                ts = int(value)
            except ValueError:
                ts = None
        elif key == "v1" and len(value) == 64:
            digests.append(value.lower())
    if ts is None or not digests:
        raise SignatureError(
            "bad_signature", f"the {HEADER} header must look like t=<unix seconds>,v1=<64 hex digits>"
        )
    return Signature(ts, tuple(digests))


def verify(header: str | None, body: bytes, secrets: Iterable[str], *, now: float | None = None) -> Signature:
    """The parsed signature if it is fresh and matches one of ``secrets``; else :class:`SignatureError`."""
    sig = parse(header)
    current = time.time() if now is None else now
    if abs(current - sig.timestamp) > WINDOW_S:
        raise SignatureError(
            "expired",
            f"the signature timestamp is more than {WINDOW_S // 60} minutes from the server's clock",
        )
    for secret in secrets:
        expected = compute(secret, sig.timestamp, body)
        for digest in sig.digests:
            if hmac.compare_digest(expected, digest):
                return Signature(sig.timestamp, (digest,))
    raise SignatureError("bad_signature", "the signature does not match the body and the pipeline's secret")
