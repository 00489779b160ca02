"""One HTTP client for every HTTP protocol: auth, TLS, retries, rate limit and the failed-call log.

Protocols (rest, soap, graphql) build requests and interpret bodies; everything about getting a
response reliably and safely lives here, so it behaves the same for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any

import httpx

from openconnector import __version__
from openconnector.connectors.base import ConnectorError
from openconnector.connectors.http.auth import TOKEN_REFRESHED, build_auth, ssl_context
from openconnector.connectors.http.calllog import Call, CallLog, snippet
from openconnector.connectors.http.masking import Redactor
from openconnector.connectors.http.options import HttpSourceBase
from openconnector.connectors.http.ratelimit import TokenBucket
from openconnector.connectors.http.retry import backoff_delay, parse_retry_after, tls_failure, transient

USER_AGENT = f"openconnector/{__version__}"
#: statuses retried even for requests that are not idempotent: the server says it did nothing
_SAFE_TO_REPEAT = frozenset({429, 503})
#: the request :meth:`HttpTransport.request` is sending in this task (redirects and token requests differ)
_SENDING: ContextVar[httpx.Request | None] = ContextVar("openconnector_http_sending", default=None)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _unlink_stream(response: httpx.Response) -> None:
    """Let a read response be freed as soon as nobody holds it.

    httpx 0.28 links a response and its body stream both ways (encode/httpx#3733), so every page
    would wait, body and all, for the cyclic garbage collector. ``send`` has read and closed the
    body already; a plain stream over the same bytes serves any later read just as well.
    """
    if response.is_closed and response.is_stream_consumed:
        response.stream = httpx.ByteStream(response.content)


class HttpTransport:
    """An :class:`httpx.AsyncClient` configured from an :class:`HttpSourceBase`.

    :meth:`request` returns a response with a 2xx/3xx status (and, with ``raise_for_status=False``,
    any status that is not retried; and any error response ``final`` recognises), or raises
    :class:`ConnectorError` saying what was requested, what happened and after how many attempts —
    with every secret masked.
    """

    def __init__(self, source: HttpSourceBase, *, logger: logging.Logger | None = None) -> None:
        self.source = source
        self.redactor = Redactor()
        for name, value in source.headers.items():
            if self.redactor.sensitive(name):
                self.redactor.add(value)
        self.auth = build_auth(source, self.redactor)
        self.calls = CallLog(logger)
        self.bucket = TokenBucket(source.rate_limit, source.rate_limit_burst) if source.rate_limit else None
        self.attempts = 0  # requests sent, retries included
        self._client: httpx.AsyncClient | None = None
        self._base = httpx.URL(source.location) if source.location else None

    # -- client -------------------------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        """The underlying client, created on first use (loading certificates may fail: that is a
        read error with a clear message, not a crash while configuring)."""
        if self._client is None:
            s = self.source
            headers = {"User-Agent": USER_AGENT, **s.headers}
            self._client = httpx.AsyncClient(
                base_url=self._base or "",
                headers=headers,
                auth=self.auth,
                verify=ssl_context(s.verify, s.auth, self.redactor, trust_env=s.proxy is None),
                proxy=s.proxy,
                trust_env=s.proxy is None,
                timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout or s.timeout),
                follow_redirects=s.follow_redirects,
                event_hooks={"request": [self._keep_credentials_home]},
            )
            if s.proxy:
                self.redactor.add(httpx.URL(s.proxy).password)
        return self._client

    async def _keep_credentials_home(self, request: httpx.Request) -> None:
        """Drop credential headers from a request that goes to another origin than the one asked for.

        httpx already drops ``Authorization`` on a redirect to another host; this covers API-key
        headers, cookies and sensitive configured headers too, and requests made by auth flows.
        """
        asked = _SENDING.get()
        if asked is None or request is asked or _origin(request.url) == _origin(asked.url):
            return
        for name in [n for n in request.headers if self.redactor.sensitive(n)]:
            del request.headers[name]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- naming -------------------------------------------------------------------------------------

    def display(self, url: httpx.URL | str) -> str:
        """A URL for messages: masked, and relative to the source's location when under it."""
        text = self.redactor.url(url)
        base = self.redactor.url(self._base).rstrip("/") if self._base else ""
        if base and text.startswith(base) and text[len(base) : len(base) + 1] in ("/", "?", ""):
            return text[len(base) :] or text  # the location itself (a SOAP or GraphQL endpoint) in full
        return text

    def same_origin(self, url: httpx.URL | str) -> bool:
        """Whether ``url`` is on the source's scheme, host and port (credentials may go there)."""
        if self._base is None:
            return True
        return _origin(httpx.URL(str(url))) == _origin(self._base)

    # -- requests -----------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        where: str | None = None,
        raise_for_status: bool = True,
        idempotent: bool = True,
        final: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying transient failures; see the class docstring.

        ``final`` picks out error responses the protocol answers itself (a SOAP fault comes with
        HTTP 500): they are returned at once, since asking again would only repeat the same answer.
        """
        try:
            client = self.client
        except ConnectorError as exc:  # certificates or CA bundle that cannot be loaded
            raise ConnectorError(str(exc), where=where) from None
        if url == "" and self._base is not None:
            url = self._base  # the location itself; httpx would add a trailing slash
        request = client.build_request(
            method, url, params=params, headers=headers, json=json, content=content, data=data
        )
        shown = f"{method} {self.display(request.url)}"
        attempts = self.source.retries + 1
        for attempt in range(1, attempts + 1):
            if self.bucket is not None:
                await self.bucket.acquire()
            started = time.monotonic()
            self.attempts += 1
            token = _SENDING.set(request)
            try:
                response = await client.send(request)
            except ConnectorError as exc:  # raised by an auth flow (token endpoint refused us)
                self._log(request, attempt, started, where, error=str(exc))
                raise ConnectorError(f"{shown}: {exc}", where=where) from None
            except (httpx.DecodingError, httpx.TooManyRedirects) as exc:  # the answer is wrong, not the wire
                if isinstance(exc, httpx.TooManyRedirects):
                    error = f"more than {client.max_redirects} redirects (a redirect loop?)"
                else:
                    error = f"the response body does not decode as its Content-Encoding header says ({exc})"
                self._log(request, attempt, started, where, error=error)
                raise ConnectorError(f"{shown}: {error}", where=where) from None
            except (httpx.TransportError, ssl.SSLError) as exc:  # httpx lets some TLS alerts through raw
                error = self._describe(exc, request.url)
                self._log(request, attempt, started, where, error=error)
                retry = isinstance(exc, httpx.TransportError) and transient(exc, idempotent)
                if retry and attempt < attempts:
                    await asyncio.sleep(backoff_delay(attempt, self.source.backoff, self.source.backoff_max))
                    continue
                tail = f" after {attempt} attempts" if attempt > 1 else ""
                raise ConnectorError(f"{shown}: {error}{tail}", where=where, retryable=retry) from None
            finally:
                _SENDING.reset(token)

            _unlink_stream(response)
            status = response.status_code
            if status < 400:
                return response
            body = self.redactor.text(snippet(response.content))
            self._log(request, attempt, started, where, status=status, body=body)
            if final is not None and final(response):
                return response
            retry = status in self.source.retry_on and (idempotent or status in _SAFE_TO_REPEAT)
            if retry and attempt < attempts:
                await asyncio.sleep(self._delay(response, attempt))
                continue
            if not raise_for_status and not retry:
                return response
            tail = f" after {attempt} attempts" if attempt > 1 else ""
            note = ""
            if status == 401 and response.request.extensions.get(TOKEN_REFRESHED):
                note = " (a freshly fetched oauth2 token was refused too)"
            raise ConnectorError(
                f"{shown}: HTTP {status}{note}{tail}{f': {body}' if body else ''}",
                where=where,
                retryable=retry,
            )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _delay(self, response: httpx.Response, attempt: int) -> float:
        waited = parse_retry_after(response.headers.get("Retry-After"))
        if waited is not None:
            return min(waited, self.source.retry_after_max)
        return backoff_delay(attempt, self.source.backoff, self.source.backoff_max)

    def _describe(self, exc: httpx.TransportError | ssl.SSLError, url: httpx.URL) -> str:
        tls = tls_failure(exc)
        if tls is not None:
            verify = getattr(tls, "verify_message", None)
            reason = f"certificate verify failed: {verify}" if verify else str(tls)
            return self.redactor.text(f"TLS failed: {reason}")
        if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
            hint = " (over TLS this is often a refused client certificate)" if url.scheme == "https" else ""
            if not str(exc):
                return f"{type(exc).__name__}: the server closed the connection{hint}"
            if hint:  # "Server disconnected without sending a response.": the same refusal, worded otherwise
                return self.redactor.text(f"{type(exc).__name__}: {exc}{hint}")
        timeout, connect = self.source.timeout, self.source.connect_timeout or self.source.timeout
        explain: dict[type[BaseException], str] = {
            httpx.ConnectTimeout: f"no connection within {connect}s",
            httpx.ReadTimeout: f"no response within {timeout}s",
            httpx.WriteTimeout: f"could not send within {timeout}s",
            httpx.PoolTimeout: "no free connection",
        }
        detail = str(exc) or explain.get(type(exc), "")
        return self.redactor.text(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)

    def _log(
        self,
        request: httpx.Request,
        attempt: int,
        started: float,
        where: str | None,
        *,
        status: int | None = None,
        error: str | None = None,
        body: str | None = None,
    ) -> None:
        self.calls.add(
            Call(
                method=request.method,
                url=self.redactor.url(request.url),
                status=status,
                elapsed_s=round(time.monotonic() - started, 4),
                attempt=attempt,
                error=error,
                snippet=body,
                request_headers=self.redactor.headers(request.headers),
                where=where,
            )
        )


__all__ = ["USER_AGENT", "HttpTransport"]
