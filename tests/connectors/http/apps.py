"""Reusable test routes: credential checks for every auth kind and an OAuth2 token endpoint.

A 401 echoes the credential it was given, the way careless servers do, so tests can prove the
transport masks secrets that come back in a response body.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tests.connectors.http.server import Handler, HttpTestServer, Request, Response

AuthKind = Literal["none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2"]


@dataclass
class Credentials:
    username: str = "alice"
    password: str = "pa55-w0rd!"
    token: str = "bearer-tok-0123456789"
    api_key: str = "key-0123456789abcdef"
    api_key_header: str = "X-API-Key"
    api_key_query: str = "api_key"
    api_key_prefix: str | None = None
    client_id: str = "oc-client"
    client_secret: str = "client-s3cret-xyz"
    token_lifetime: float = 3600.0


class AuthApp:
    """Checks requests against :class:`Credentials`; serves ``POST /oauth/token``."""

    def __init__(self, server: HttpTestServer, creds: Credentials | None = None) -> None:
        self.creds = creds or Credentials()
        self.tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self.issued = 0
        self.reject_tokens = False  # every token is refused (a misconfigured resource server)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        server.route("/oauth/token", methods=("POST",))(self.token_endpoint)

    def token_endpoint(self, req: Request) -> Response:
        form = req.form()
        c = self.creds
        if form.get("grant_type") != "client_credentials":
            return Response.json({"error": "unsupported_grant_type"}, 400)
        if form.get("client_id") != c.client_id or form.get("client_secret") != c.client_secret:
            return Response.json(
                {"error": "invalid_client", "detail": f"bad secret {form.get('client_secret')}"}, 401
            )
        with self._lock:
            token = f"access-{next(self._seq):04d}-{time.monotonic_ns()}"
            self.tokens[token] = time.monotonic() + c.token_lifetime
            self.issued += 1
        return Response.json(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": c.token_lifetime,
                "scope": form.get("scope"),
            }
        )

    def revoke_all(self) -> None:
        with self._lock:
            self.tokens.clear()

    def presented(self, req: Request, kind: AuthKind) -> str | None:
        c = self.creds
        if kind == "api_key_header":
            return req.headers.get(c.api_key_header.lower())
        if kind == "api_key_query":
            return req.arg(c.api_key_query)
        return req.headers.get("authorization")

    def ok(self, req: Request, kind: AuthKind) -> bool:
        c = self.creds
        given = self.presented(req, kind)
        key = f"{c.api_key_prefix} {c.api_key}" if c.api_key_prefix else c.api_key
        if kind == "none":
            return True
        if kind == "basic":
            return given == "Basic " + base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
        if kind == "bearer":
            return given == f"Bearer {c.token}"
        if kind in ("api_key_header", "api_key_query"):
            return given == key
        if given is None or not given.startswith("Bearer ") or self.reject_tokens:
            return False
        with self._lock:
            expiry = self.tokens.get(given.removeprefix("Bearer "))
        return expiry is not None and time.monotonic() < expiry

    def check(self, req: Request, kind: AuthKind) -> Response | None:
        """``None`` if the request carries the right credential, else a 401 echoing what it carried."""
        if self.ok(req, kind):
            return None
        return Response.json({"error": "unauthorized", "received": self.presented(req, kind)}, 401)

    def protect(self, kind: AuthKind, handler: Handler) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            return self.check(req, kind) or handler(req)

        return guarded


class ChaosApp:
    """Routes that misbehave on request: ``/flaky`` (fails N times per ``slot``, then serves),
    ``/storm`` (always 429), ``/slow`` (answers late), ``/echo`` (returns what it received)."""

    def __init__(self, server: HttpTestServer) -> None:
        self._lock = threading.Lock()
        self.failures: dict[str, int] = {}
        server.route("/flaky", methods=("GET", "POST"))(self.flaky)
        server.route("/storm")(self.storm)
        server.route("/slow")(self.slow)
        server.route("/echo", methods=("GET", "POST"))(self.echo)

    def flaky(self, req: Request) -> Response:
        key = req.arg("slot") or ""
        with self._lock:
            failed = self.failures.get(key, 0)
            if failed < req.int_arg("fails", 2):
                self.failures[key] = failed + 1
                retry_after = req.arg("retry_after")
                headers = {"Retry-After": retry_after} if retry_after else {}
                return Response.text("temporarily unavailable", req.int_arg("status", 503), headers=headers)
        return Response.json({"data": [{"id": 1}, {"id": 2}, {"id": 3}]})

    def storm(self, req: Request) -> Response:
        return Response.json({"error": "slow down"}, 429, {"Retry-After": req.arg("retry_after") or "0"})

    def slow(self, req: Request) -> Response:
        time.sleep(float(req.arg("delay") or "1"))
        return Response.json({"data": []})

    def echo(self, req: Request) -> Response:
        return Response.json({"data": [{"id": 1, "headers": req.headers, "query": req.query}]})


__all__ = ["AuthApp", "AuthKind", "ChaosApp", "Credentials"]
