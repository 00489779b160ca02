"""The checkpoint signing key: from configuration, never from the database it protects.

``OPENCONNECTOR_AUDIT_KEY`` holds the key (hex, or any text). Without it a random key is generated
once into ``.openconnector/audit.key`` (mode 0600, or ``OPENCONNECTOR_AUDIT_KEY_FILE``) so a
single machine works out of the box; production must set the environment variable, because a key
that sits next to the database protects nothing from whoever can edit that database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from openconnector.jsonutil import canonical

log = logging.getLogger("openconnector.audit")

KEY_ENV = "OPENCONNECTOR_AUDIT_KEY"
KEY_FILE_ENV = "OPENCONNECTOR_AUDIT_KEY_FILE"
DEFAULT_DIR = ".openconnector"
KEY_FILE = "audit.key"
_HEX = frozenset(string.hexdigits)


class AuditKeyMissing(RuntimeError):
    """Verification needs the signing key and none is configured."""


@dataclass(frozen=True)
class SigningKey:
    """An HMAC-SHA256 key. ``key_id`` identifies it in checkpoints without revealing it."""

    secret: bytes
    origin: str  # "env" or the key file's path; for messages, never the key itself

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"openconnector-audit-key:" + self.secret).hexdigest()[:16]

    def sign(self, chain_id: str, seq: int, digest: str, created_at: str) -> str:
        return hmac.new(
            self.secret, checkpoint_message(chain_id, seq, digest, created_at), "sha256"
        ).hexdigest()

    def verify(self, chain_id: str, seq: int, digest: str, created_at: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(chain_id, seq, digest, created_at), signature or "")

    def __repr__(self) -> str:  # the secret never shows up in logs or tracebacks
        return f"SigningKey(key_id={self.key_id!r}, origin={self.origin!r})"


def checkpoint_message(chain_id: str, seq: int, digest: str, created_at: str) -> bytes:
    return canonical({"chain": chain_id, "seq": seq, "hash": digest, "at": created_at})


def parse_key(text: str) -> bytes:
    """Hex (even length, at least 32 digits) is decoded; anything else is used as UTF-8 text."""
    value = text.strip()
    if len(value) >= 32 and len(value) % 2 == 0 and set(value) <= _HEX:
        return bytes.fromhex(value)
    return value.encode("utf-8")


def key_file_path(base_dir: Path | None = None) -> Path:
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured)
    return (base_dir or Path.cwd()) / DEFAULT_DIR / KEY_FILE


def load_key(*, base_dir: Path | None = None, create: bool = True) -> SigningKey:
    """The configured key; with ``create`` a key file is generated when none is configured."""
    env = os.environ.get(KEY_ENV)
    if env and env.strip():
        secret = parse_key(env)
        if len(secret) < 16:
            log.warning("%s is shorter than 16 bytes; use 32 random bytes (64 hex digits)", KEY_ENV)
        return SigningKey(secret, "env")
    path = key_file_path(base_dir)
    if path.exists():
        return SigningKey(_read_key_file(path), str(path))
    if not create:
        raise AuditKeyMissing(
            f"no audit signing key: set {KEY_ENV} (or {KEY_FILE_ENV}); {path} does not exist"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return SigningKey(_read_key_file(path), str(path))
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    log.warning(
        "generated an audit signing key in %s; production must set %s (a key stored beside the "
        "database does not protect the audit trail from whoever can edit that database)",
        path,
        KEY_ENV,
    )
    return SigningKey(_read_key_file(path), str(path))


def _read_key_file(path: Path) -> bytes:
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise AuditKeyMissing(f"audit key file {path} is empty")
    return parse_key(text)
