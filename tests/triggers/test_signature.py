"""The webhook signature scheme: HMAC-SHA256 over ``<unix>.<raw body>``, 5-minute window."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from openconnector.triggers import SignatureError, sign, verify

BODY = b'{"data": [{"id": 1}]}'


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = sign("k", BODY, 1_700_000_000)
    expected = hmac.new(b"k", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(header, BODY, ["k"], now=1_700_000_100).timestamp == 1_700_000_000


def test_any_of_several_secrets_and_signatures_matches() -> None:
    header = sign("new", BODY, 1000)
    old_part = sign("old", BODY, 1000).split(",")[1]
    assert verify(f"{header}, {old_part}", BODY, ["old"], now=1000).digests == (old_part[3:],)
    assert verify(header.upper().replace("T=", "t=").replace("V1=", "v1="), BODY, ["new"], now=1000)


@pytest.mark.parametrize(
    ("header", "secrets", "now", "outcome"),
    [
        (None, ["k"], 1000, "missing_signature"),
        ("", ["k"], 1000, "missing_signature"),
        ("t=abc,v1=" + "0" * 64, ["k"], 1000, "bad_signature"),
        ("t=1000", ["k"], 1000, "bad_signature"),
        ("t=1000,v1=abc", ["k"], 1000, "bad_signature"),
        ("v1=" + "0" * 64, ["k"], 1000, "bad_signature"),
        (sign("k", BODY, 1000), ["other"], 1000, "bad_signature"),
        (sign("k", BODY + b" ", 1000), ["k"], 1000, "bad_signature"),
        (sign("k", BODY, 1000), ["k"], 1301, "expired"),
        (sign("k", BODY, 1000), ["k"], 699, "expired"),
    ],
)
def test_refusals(header: str | None, secrets: list[str], now: int, outcome: str) -> None:
    with pytest.raises(SignatureError) as info:
        verify(header, BODY, secrets, now=now)
    assert info.value.outcome == outcome and str(info.value)


def test_window_edges_are_inclusive() -> None:
    header = sign("k", BODY, 1000)
    assert verify(header, BODY, ["k"], now=1300) and verify(header, BODY, ["k"], now=700)
