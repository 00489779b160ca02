"""The shared ``auth`` blocks as httpx auth flows and TLS contexts.

Each credential kind is an :class:`httpx.Auth` (httpx's own extension point), so it applies to every
request, retry and redirect the client makes; mTLS lives in the SSL context instead. Every secret is
registered with the transport's :class:`Redactor` as it is configured or fetched.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx
import orjson

from openconnector.connectors.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    MTLSAuth,
    OAuth2Auth,
)
from openconnector.connectors.base import ConnectorError, SourceBase
from openconnector.connectors.http.masking import Redactor

#: set on a request's extensions when the OAuth2 flow fetched a new token after a 401
TOKEN_REFRESHED = "openconnector.oauth2_refreshed"


class BearerToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class ApiKey(httpx.Auth):
    """An API key in a header or a query parameter, optionally after a prefix (``ApiKey <key>``)."""

    def __init__(self, name: str, value: str, where: str = "header", prefix: str | None = None) -> None:
        self.name = name
        self.where = where
        self._value = f"{prefix} {value}" if prefix else value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.where == "query":
            request.url = request.url.copy_set_param(self.name, self._value)
        else:
            request.headers[self.name] = self._value
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client-credentials grant: the token is cached, refreshed shortly before it expires,
    and fetched anew once when the resource server answers 401 (revoked or expired early).

    The client authenticates with ``client_id``/``client_secret`` in the form body
    (``client_secret_post``), which every mainstream identity provider accepts.
    """

    requires_response_body = True

    def __init__(self, config: OAuth2Auth, redactor: Redactor) -> None:
        self.config = config
        self.redactor = redactor
        self._token: str | None = None
        self._refresh_at: float | None = None  # monotonic seconds; None = no expiry announced
        self.fetched = 0  # tokens fetched, for tests and the call log

    def _valid(self) -> bool:
        if self._token is None:
            return False
        return self._refresh_at is None or time.monotonic() < self._refresh_at

    def _token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.get_secret_value(),
        }
        if self.config.scope:
            form["scope"] = self.config.scope
        if self.config.audience:
            form["audience"] = self.config.audience
        return httpx.Request("POST", self.config.token_url, data=form, headers={"Accept": "application/json"})

    def _accept(self, response: httpx.Response) -> None:
        where = f"oauth2 token request to {self.redactor.url(self.config.token_url)}"
        snippet = self.redactor.text(response.text[:300])
        if response.status_code != 200:
            raise ConnectorError(f"{where} failed: HTTP {response.status_code}: {snippet}")
        try:
            body = orjson.loads(response.content)
            token = body["access_token"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise ConnectorError(f"{where}: the response has no access_token: {snippet}") from None
        if not isinstance(token, str) or not token:
            raise ConnectorError(f"{where}: access_token is empty or not a string")
        self.redactor.add(token)
        self._token = token
        self.fetched += 1
        expires_in = body.get("expires_in")
        if isinstance(expires_in, (int, float, str)) and str(expires_in).replace(".", "", 1).isdigit():
            lifetime = float(expires_in)
            now = time.monotonic()
            # refresh a little early: 10% of the lifetime, at most a minute
            self._refresh_at = now + lifetime - min(60.0, lifetime / 10)
        else:
            self._refresh_at = None

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._valid():
            token_response = yield self._token_request()
            await token_response.aread()
            self._accept(token_response)
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            token_response = yield self._token_request()
            await token_response.aread()
            self._accept(token_response)
            request.headers["Authorization"] = f"Bearer {self._token}"
            request.extensions[TOKEN_REFRESHED] = True
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2ClientCredentials is used with httpx.AsyncClient only")


def build_auth(source: SourceBase, redactor: Redactor) -> httpx.Auth | None:
    """The httpx auth for ``source.auth`` (``None`` for none and mtls), its secrets registered."""
    auth = source.auth
    if isinstance(auth, BasicAuth):
        password = auth.password.get_secret_value()
        redactor.add_basic(auth.username, password)
        return httpx.BasicAuth(auth.username, password)
    if isinstance(auth, BearerAuth):
        token = auth.token.get_secret_value()
        redactor.add(token)
        return BearerToken(token)
    if isinstance(auth, ApiKeyAuth):
        value = auth.value.get_secret_value()
        redactor.add(value)
        redactor.add_name(auth.name)
        return ApiKey(auth.name, value, auth.in_, auth.prefix)
    if isinstance(auth, OAuth2Auth):
        redactor.add(auth.client_secret.get_secret_value())
        return OAuth2ClientCredentials(auth, redactor)
    return None


class DeferredCAContext(ssl.SSLContext):
    """httpx's default verification (certificate and host name required; the CA bundle named by
    ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when the environment is trusted, else certifi's), with
    the bundle loaded at the first TLS connection instead of when the client is made.

    Loading certifi's bundle costs ~60 ms of CPU, and every run makes its client anew: an http://
    source, or a run that ends before its first https request, never needs it."""

    _trust_env = True
    _loaded = False

    @classmethod
    def create(cls, trust_env: bool) -> DeferredCAContext:
        ctx = cls(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, as create_default_context
        ctx._trust_env = trust_env
        return ctx

    def _load(self) -> None:
        if self._loaded:
            return
        if self._trust_env and os.environ.get("SSL_CERT_FILE"):
            self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
        elif self._trust_env and os.environ.get("SSL_CERT_DIR"):
            self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
        else:
            import certifi

            self.load_verify_locations(cafile=certifi.where())
        self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load()
        return super().wrap_bio(*args, **kwargs)


def ssl_context(
    verify: bool | str, auth: object, redactor: Redactor, trust_env: bool = True
) -> ssl.SSLContext | bool:
    """TLS settings for httpx: ``verify`` as given, or a context carrying a client certificate.

    ``verify`` may be a CA bundle path; an mTLS block's own ``ca`` takes precedence over it.
    """
    mtls = auth if isinstance(auth, MTLSAuth) else None
    cafile = mtls.ca if mtls and mtls.ca else (verify if isinstance(verify, str) else None)
    if mtls is None and cafile is None:
        return DeferredCAContext.create(trust_env) if verify is True else False
    try:
        if verify is False:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif cafile:
            ctx = ssl.create_default_context(cafile=cafile)
        else:
            import certifi

            ctx = ssl.create_default_context(cafile=certifi.where())
    except (OSError, ssl.SSLError) as exc:
        raise ConnectorError(f"cannot load the CA bundle {cafile!r}: {exc}") from None
    if mtls is not None:
        password = mtls.password.get_secret_value() if mtls.password else None
        redactor.add(password)
        try:
            ctx.load_cert_chain(mtls.cert, mtls.key, password=password)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(
                f"auth (mtls): cannot load the client certificate {mtls.cert!r}"
                f"{f' / key {mtls.key!r}' if mtls.key else ''}: {redactor.text(str(exc))}"
            ) from None
    return ctx


__all__ = ["TOKEN_REFRESHED", "ApiKey", "BearerToken", "OAuth2ClientCredentials", "build_auth", "ssl_context"]
