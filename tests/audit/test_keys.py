"""The signing key: from the environment, else generated once (0600) with a warning; never shown."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from openconnector.audit import AuditKeyMissing
from openconnector.audit.anchor import anchor_path
from openconnector.audit.keys import load_key, parse_key


def test_generated_key_file_is_private_stable_and_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("OPENCONNECTOR_AUDIT_KEY")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AuditKeyMissing, match="OPENCONNECTOR_AUDIT_KEY"):
        load_key(create=False)  # verification never invents a key
    with caplog.at_level(logging.WARNING, logger="openconnector.audit"):
        key = load_key()
    path = tmp_path / ".openconnector" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "production must set OPENCONNECTOR_AUDIT_KEY" in caplog.text
    assert key.secret.hex() not in caplog.text and key.secret.hex() not in repr(key)
    assert load_key().secret == key.secret == bytes.fromhex(path.read_text().strip())


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_KEY", "ab" * 32)
    assert load_key().secret == bytes.fromhex("ab" * 32) and load_key().origin == "env"
    assert parse_key("correct horse battery staple") == b"correct horse battery staple"
    assert parse_key("abcd") == b"abcd"  # too short to be meant as hex
    sig = load_key().sign("chain", 5, "0" * 64, "2026-01-01T00:00:00.000000Z")
    assert load_key().verify("chain", 5, "0" * 64, "2026-01-01T00:00:00.000000Z", sig)
    assert not load_key().verify("chain", 6, "0" * 64, "2026-01-01T00:00:00.000000Z", sig)


def test_anchor_can_be_switched_off_or_moved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_ANCHOR", "off")
    assert anchor_path() is None
    monkeypatch.setenv("OPENCONNECTOR_AUDIT_ANCHOR", str(tmp_path / "a.jsonl"))
    assert anchor_path() == tmp_path / "a.jsonl"
    monkeypatch.delenv("OPENCONNECTOR_AUDIT_ANCHOR")
    assert anchor_path(tmp_path) == tmp_path / ".openconnector" / "audit-anchor.jsonl"
