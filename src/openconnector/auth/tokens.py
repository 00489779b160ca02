"""Create, verify, list and revoke API tokens.

A token is 32 random bytes (URL-safe base64) behind an ``oc_`` prefix; the database keeps its
SHA-256 only. A slow password hash would buy nothing here — the token has 256 bits of entropy — and
would cost every API request; looking tokens up by their hash also keeps the comparison out of
Python, so there is no timing signal to compare against. Verified tokens are cached for a few
seconds so a busy client does not cost a database round trip per request; a revoked token stops
working within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from openconnector.auth.roles import ROLES, Role
from openconnector.ids import uuid7
from openconnector.registers import tables as t
from openconnector.timeutil import now_iso

PREFIX = "oc_"


class TokenExists(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's name and role (never the token)."""

    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"token:{self.name}"


@dataclass(frozen=True, slots=True)
class CreatedToken:
    name: str
    role: Role
    token: str  # shown once


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    CACHE_S = 5.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, role: str) -> CreatedToken:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not name or len(name) > 150:
            raise ValueError("a token name must be 1 to 150 characters")
        token = PREFIX + secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t.api_tokens).values(
                        id=uuid7(),
                        name=name,
                        role=role,
                        hash=token_hash(token),
                        prefix=token[:10],
                        created_at=now_iso(),
                    )
                )
        except IntegrityError:
            raise TokenExists(f"a token named {name!r} exists already (revoke it first)") from None
        return CreatedToken(name, role, token)

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token, else ``None``."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        digest = token_hash(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self.CACHE_S:
            return hit[1]
        tk = t.api_tokens
        with self.engine.begin() as conn:
            row = conn.execute(
                select(tk.c.name, tk.c.role).where(tk.c.hash == digest, tk.c.revoked_at.is_(None))
            ).first()
            if row is not None:
                conn.execute(update(tk).where(tk.c.hash == digest).values(last_used_at=now_iso()))
        if row is None:
            with self._lock:
                self._cache.pop(digest, None)
            return None
        principal = Principal(row.name, row.role)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, principal)
        return principal

    def list(self) -> list[dict[str, Any]]:
        tk = t.api_tokens
        with self.engine.connect() as conn:
            rows = conn.execute(select(tk).order_by(tk.c.created_at)).all()
        return [
            {
                "name": r.name,
                "role": r.role,
                "prefix": r.prefix,
                "created_at": r.created_at,
                "last_used_at": r.last_used_at,
                "revoked_at": r.revoked_at,
            }
            for r in rows
        ]

    def revoke(self, name: str) -> bool:
        """Revoke (and free the name of) a token; ``False`` if no active token has that name."""
        tk = t.api_tokens
        with self.engine.begin() as conn:
            row = conn.execute(select(tk.c.id).where(tk.c.name == name, tk.c.revoked_at.is_(None))).first()
            if row is None:
                return False
            # the name is freed for a successor; the row stays as a record of the old token
            conn.execute(
                update(tk)
                .where(tk.c.id == row.id)
                .values(revoked_at=now_iso(), name=f"{name}#revoked-{row.id}")
            )
        with self._lock:
            self._cache.clear()
        return True

    def count_active(self) -> int:
        tk = t.api_tokens
        with self.engine.connect() as conn:
            return len(conn.execute(select(tk.c.id).where(tk.c.revoked_at.is_(None))).all())
