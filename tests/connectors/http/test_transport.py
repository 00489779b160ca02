"""The shared HTTP transport against a real server: retries, Retry-After, rate limit, timeouts,
proxy, TLS, every auth kind, and secrets kept out of errors and the call log."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import ssl
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import ValidationError

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.http import HttpTransport, parse_retry_after
from openconnector.connectors.http.auth import DeferredCAContext, ssl_context
from openconnector.connectors.http.masking import Redactor
from openconnector.connectors.http.retry import backoff_delay
from tests.connectors.http.apps import AuthApp, Credentials
from tests.connectors.http.conftest import FAST, Source
from tests.connectors.http.server import HttpTestServer, Response
from tests.connectors.http.tls import Pki

Make = Callable[..., HttpTransport]
C = Credentials()


# -- retries ------------------------------------------------------------------------------------------


async def test_retries_a_503_then_succeeds(transports: Make, server: HttpTestServer) -> None:
    t = transports(retries=3)
    response = await t.request("GET", "/flaky", params={"slot": "a", "fails": 2})
    assert response.json()["data"][0] == {"id": 1}
    assert server.hits["/flaky"] == 3
    calls = list(t.calls)
    assert [c.status for c in calls] == [503, 503]
    assert [c.attempt for c in calls] == [1, 2]
    assert calls[0].url.endswith("/flaky?slot=a&fails=2") and calls[0].snippet == "temporarily unavailable"


async def test_a_read_response_is_freed_without_waiting_for_the_cyclic_gc(transports: Make) -> None:
    # httpx 0.28 links a response and its body stream both ways (encode/httpx#3733): unlinked by the
    # transport, a page and its body go as soon as the connector lets go of them.
    t = transports()
    response = await t.request("GET", "/flaky", params={"slot": "gc", "fails": 0})
    assert response.json()["data"][0] == {"id": 1}
    assert response.content == await response.aread()  # still readable after the unlinking
    gone = weakref.ref(response)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del response
        assert gone() is None
    finally:
        if enabled:
            gc.enable()


async def test_gives_up_after_the_configured_retries_naming_request_and_attempts(
    transports: Make, server: HttpTestServer
) -> None:
    t = transports(retries=2)
    with pytest.raises(ConnectorError) as err:
        await t.request("GET", "/flaky", params={"slot": "b", "fails": 10, "status": 500}, where="page 3")
    assert (
        str(err.value)
        == "page 3: GET /flaky?slot=b&fails=10&status=500: HTTP 500 after 3 attempts: temporarily unavailable"
    )
    assert err.value.where == "page 3" and err.value.retryable
    assert server.hits["/flaky"] == 3


async def test_429_storm_gives_up_with_a_clear_error(transports: Make, server: HttpTestServer) -> None:
    t = transports(retries=4)
    with pytest.raises(ConnectorError, match=r"GET /storm: HTTP 429 after 5 attempts: .*slow down"):
        await t.request("GET", "/storm")
    assert server.hits["/storm"] == 5


async def test_client_errors_are_not_retried(transports: Make, server: HttpTestServer) -> None:
    t = transports(retries=5)
    with pytest.raises(ConnectorError, match=r"^GET /nowhere: HTTP 404: .*no route") as err:
        await t.request("GET", "/nowhere")
    assert not err.value.retryable
    assert server.hits["/nowhere"] == 1


async def test_raise_for_status_false_returns_a_non_retryable_error_response(transports: Make) -> None:
    response = await transports().request("GET", "/nowhere", raise_for_status=False)
    assert response.status_code == 404


async def test_non_idempotent_requests_retry_only_when_the_server_did_nothing(
    transports: Make, server: HttpTestServer
) -> None:
    t = transports(retries=3)
    with pytest.raises(ConnectorError, match="HTTP 500: temporarily"):
        await t.request("POST", "/flaky", params={"slot": "p", "status": 500}, idempotent=False)
    assert server.hits["/flaky"] == 1
    response = await t.request("POST", "/flaky", params={"slot": "q", "status": 503}, idempotent=False)
    assert response.status_code == 200 and server.hits["/flaky"] == 4


async def test_retry_after_seconds_is_honoured(transports: Make) -> None:
    t = transports(retries=1, backoff=0)  # without Retry-After the retry would be immediate
    started = time.monotonic()
    await t.request("GET", "/flaky", params={"slot": "ra", "fails": 1, "status": 429, "retry_after": "1"})
    assert time.monotonic() - started >= 0.95


async def test_retry_after_http_date_is_honoured_up_to_the_cap(transports: Make) -> None:
    t = transports(retries=1, backoff=0, retry_after_max=0.4)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    started = time.monotonic()
    await t.request("GET", "/flaky", params={"slot": "rd", "fails": 1, "status": 503, "retry_after": later})
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 3


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("7", now) == 7
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now) == 30
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0  # in the past: now
    assert parse_retry_after("-3", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_with_jitter_and_stays_under_the_cap() -> None:
    delays = [backoff_delay(n, 0.1, 1.0) for n in range(1, 8) for _ in range(20)]
    assert all(0 < d <= 1.0 for d in delays)
    first = [backoff_delay(1, 0.1, 10) for _ in range(50)]
    fourth = [backoff_delay(4, 0.1, 10) for _ in range(50)]
    assert all(0.05 <= d <= 0.1 for d in first) and all(0.4 <= d <= 0.8 for d in fourth)
    assert len(set(first)) > 1  # jitter


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_retried_then_reported() -> None:
    port = _closed_port()
    t = HttpTransport(Source(location=f"http://127.0.0.1:{port}", retries=2, **FAST))
    try:
        with pytest.raises(ConnectorError, match=r"^GET /x: ConnectError: .* after 3 attempts$"):
            await t.request("GET", "/x")
        assert len(t.calls) == 3 and all(c.status is None for c in t.calls)
    finally:
        await t.aclose()


async def test_read_timeout_is_retried_then_reported(transports: Make, server: HttpTestServer) -> None:
    t = transports(timeout=0.2, retries=1)
    with pytest.raises(ConnectorError, match=r"GET /slow\?delay=1: ReadTimeout: .*after 2 attempts"):
        await t.request("GET", "/slow", params={"delay": 1})
    assert server.hits["/slow"] == 2


# -- rate limit ---------------------------------------------------------------------------------------


async def test_rate_limit_spaces_requests(transports: Make) -> None:
    t = transports(rate_limit=20)
    started = time.monotonic()
    for _ in range(11):
        await t.request("GET", "/auth/none")
    limited = time.monotonic() - started
    assert limited >= 0.45  # 10 gaps of 1/20 s
    assert t.bucket is not None and t.bucket.waited > 0.3

    free = transports()
    started = time.monotonic()
    for _ in range(11):
        await free.request("GET", "/auth/none")
    assert time.monotonic() - started < limited / 2


async def test_rate_limit_burst_lets_the_first_requests_through(transports: Make) -> None:
    t = transports(rate_limit=2, rate_limit_burst=4)
    started = time.monotonic()
    await asyncio.gather(*(t.request("GET", "/auth/none") for _ in range(4)))
    assert time.monotonic() - started < 0.4
    await t.request("GET", "/auth/none")
    assert time.monotonic() - started >= 0.45  # the fifth waits for a token (1/2 s)


# -- auth ---------------------------------------------------------------------------------------------

AUTHS = {
    "basic": {"type": "basic", "username": C.username, "password": C.password},
    "bearer": {"type": "bearer", "token": C.token},
    "api_key_header": {"type": "api_key", "name": C.api_key_header, "value": C.api_key},
    "api_key_query": {"type": "api_key", "name": C.api_key_query, "value": C.api_key, "in": "query"},
    "oauth2": {
        "type": "oauth2",
        "token_url": "/oauth/token",
        "client_id": C.client_id,
        "client_secret": C.client_secret,
    },
}


@pytest.mark.parametrize("kind", list(AUTHS))
async def test_every_auth_kind_is_accepted_and_required(
    kind: str, transports: Make, server: HttpTestServer
) -> None:
    auth = dict(AUTHS[kind])
    if kind == "oauth2":
        auth["token_url"] = server.base_url + "/oauth/token"
    ok = await transports(auth=auth).request("GET", f"/auth/{kind}")
    assert ok.json() == {"ok": True}
    with pytest.raises(ConnectorError, match=rf"GET /auth/{kind}: HTTP 401"):
        await transports().request("GET", f"/auth/{kind}")


async def test_api_key_prefix(transports: Make, server: HttpTestServer, auth_app: AuthApp) -> None:
    auth_app.creds.api_key_prefix = "ApiKey"
    t = transports(auth={"type": "api_key", "name": C.api_key_header, "value": C.api_key, "prefix": "ApiKey"})
    assert (await t.request("GET", "/auth/api_key_header")).status_code == 200
    assert server.requests_to("/auth/api_key_header")[0].headers["x-api-key"] == f"ApiKey {C.api_key}"


def _oauth(server: HttpTestServer, **extra: str) -> dict[str, str]:
    return {
        "type": "oauth2",
        "token_url": server.base_url + "/oauth/token",
        "client_id": C.client_id,
        "client_secret": C.client_secret,
        **extra,
    }


async def test_oauth2_token_is_cached(transports: Make, server: HttpTestServer, auth_app: AuthApp) -> None:
    t = transports(auth=_oauth(server, scope="people:read"))
    for _ in range(3):
        await t.request("GET", "/auth/oauth2")
    assert auth_app.issued == 1
    assert server.requests_to("/oauth/token")[0].form()["scope"] == "people:read"


async def test_oauth2_token_is_refreshed_before_it_expires(
    transports: Make, server: HttpTestServer, auth_app: AuthApp
) -> None:
    auth_app.creds.token_lifetime = 0.6
    t = transports(auth=_oauth(server))
    await t.request("GET", "/auth/oauth2")
    await asyncio.sleep(0.56)  # inside the last 10% of the lifetime: refreshed before use
    await t.request("GET", "/auth/oauth2")
    assert auth_app.issued == 2
    assert len(t.calls) == 0  # no 401 was ever needed


async def test_oauth2_revoked_token_is_refreshed_once_on_401(
    transports: Make, server: HttpTestServer, auth_app: AuthApp
) -> None:
    t = transports(auth=_oauth(server))
    await t.request("GET", "/auth/oauth2")
    auth_app.revoke_all()  # expired early, server-side
    response = await t.request("GET", "/auth/oauth2")
    assert response.status_code == 200 and auth_app.issued == 2


async def test_oauth2_token_refused_after_refresh_is_a_clear_failure(
    transports: Make, server: HttpTestServer, auth_app: AuthApp
) -> None:
    auth_app.reject_tokens = True
    t = transports(auth=_oauth(server), retries=3)
    with pytest.raises(
        ConnectorError, match=r"HTTP 401 \(a freshly fetched oauth2 token was refused too\)"
    ) as err:
        await t.request("GET", "/auth/oauth2")
    assert auth_app.issued == 2  # the first token and exactly one refresh
    assert "access-" not in str(err.value)


async def test_oauth2_bad_client_secret(transports: Make, server: HttpTestServer) -> None:
    t = transports(auth=_oauth(server, client_secret="wrong-secret-value"))
    with pytest.raises(ConnectorError) as err:
        await t.request("GET", "/auth/oauth2", where="page 1")
    message = str(err.value)
    assert message.startswith("page 1: GET /auth/oauth2: oauth2 token request to ")
    assert "HTTP 401" in message and "invalid_client" in message
    assert "wrong-secret-value" not in message and "***" in message
    assert all("wrong-secret-value" not in str(c) for c in t.calls)


# -- secrets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["basic", "bearer", "api_key_header", "api_key_query"])
async def test_secrets_are_masked_in_errors_and_the_call_log(
    kind: str, transports: Make, server: HttpTestServer, auth_app: AuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    """The server refuses the credential and echoes it back in its 401 body; it must show nowhere."""
    auth_app.creds.token = auth_app.creds.password = auth_app.creds.api_key = "something-else-entirely"
    secret = {"basic": C.password, "bearer": C.token}.get(kind, C.api_key)
    t = transports(auth=AUTHS[kind])
    with caplog.at_level(logging.WARNING), pytest.raises(ConnectorError) as err:
        await t.request("GET", f"/auth/{kind}", params={"q": "x"})
    (call,) = t.calls
    everything = [str(err.value), str(call), repr(call.as_dict()), caplog.text, repr(t.source)]
    for text in everything:
        assert secret not in text
    if kind == "basic":
        import base64

        encoded = base64.b64encode(f"{C.username}:{C.password}".encode()).decode()
        assert all(encoded not in text for text in everything)
    assert "***" in str(err.value)  # the echoed credential was there, masked
    if kind == "api_key_query":
        assert "api_key=***" in call.url
    else:
        header = "x-api-key" if kind == "api_key_header" else "authorization"
        assert call.request_headers is not None and call.request_headers[header] == "***"


async def test_sensitive_configured_headers_and_query_params_are_masked(transports: Make) -> None:
    t = transports(headers={"X-Session-Token": "sess-987654321", "X-Trace": "visible"})
    with pytest.raises(ConnectorError) as err:
        await t.request("GET", "/nowhere", params={"access_token": "qtok-123456", "page": 2})
    (call,) = t.calls
    assert call.request_headers is not None
    assert call.request_headers["x-session-token"] == "***" and call.request_headers["x-trace"] == "visible"
    assert "access_token=***" in call.url and "page=2" in call.url
    assert "qtok-123456" not in str(err.value) and "sess-987654321" not in str(call)


# -- TLS, proxy, options -----------------------------------------------------------------------------


async def test_verify_with_a_ca_bundle(tls_server: HttpTestServer, pki: Pki) -> None:
    async with HttpTransport(Source(location=tls_server.base_url, verify=str(pki.ca_pem), **FAST)) as t:
        assert (await t.request("GET", "/people")).json()["data"] == [{"id": 1}, {"id": 2}]


async def test_untrusted_certificate_fails_without_retrying(tls_server: HttpTestServer, pki: Pki) -> None:
    async with HttpTransport(
        Source(location=tls_server.base_url, verify=str(pki.other_ca_pem), retries=3, **FAST)
    ) as t:
        with pytest.raises(
            ConnectorError, match=r"GET /people: TLS failed: .*certificate verify failed"
        ) as err:
            await t.request("GET", "/people")
        assert len(t.calls) == 1 and not err.value.retryable


async def test_default_verification_loads_its_ca_bundle_at_the_first_tls_connection(
    tls_server: HttpTestServer, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify: true (the default) is httpx's own verification, its CA bundle loaded only when a
    TLS connection is made: the test server's CA is in no default bundle, so it is refused; named
    by SSL_CERT_FILE it is trusted, as httpx trusts it."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):  # this machine sets both
        monkeypatch.delenv(name, raising=False)
    context = ssl_context(True, None, Redactor())
    assert isinstance(context, DeferredCAContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and context.cert_store_stats()["x509_ca"] == 0
    async with HttpTransport(Source(location=tls_server.base_url, **FAST)) as t:
        with pytest.raises(ConnectorError, match=r"certificate verify failed"):
            await t.request("GET", "/people")
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    async with HttpTransport(Source(location=tls_server.base_url, **FAST)) as t:
        assert (await t.request("GET", "/people")).status_code == 200
    monkeypatch.delenv("SSL_CERT_FILE")
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    assert context.cert_store_stats()["x509_ca"] > 100  # certifi's bundle, loaded on first use


async def test_verify_false_accepts_an_unknown_certificate(tls_server: HttpTestServer) -> None:
    async with HttpTransport(Source(location=tls_server.base_url, verify=False, **FAST)) as t:
        assert (await t.request("GET", "/people")).status_code == 200


async def test_mtls_client_certificate(mtls_server: HttpTestServer, pki: Pki) -> None:
    auth = {"type": "mtls", "cert": str(pki.client_cert), "key": str(pki.client_key), "ca": str(pki.ca_pem)}
    async with HttpTransport(Source(location=mtls_server.base_url, auth=auth, **FAST)) as t:
        assert (await t.request("GET", "/people")).status_code == 200
    combined = {"type": "mtls", "cert": str(pki.client_pem), "ca": str(pki.ca_pem)}
    async with HttpTransport(Source(location=mtls_server.base_url, auth=combined, **FAST)) as t:
        assert (await t.request("GET", "/people")).status_code == 200


async def test_mtls_without_a_client_certificate_is_refused(mtls_server: HttpTestServer, pki: Pki) -> None:
    async with HttpTransport(
        Source(location=mtls_server.base_url, verify=str(pki.ca_pem), retries=2, **FAST)
    ) as t:
        # Depending on timing the client sees the server's TLS alert or just the closed connection.
        with pytest.raises(
            ConnectorError, match=r"GET /people: .*(CERTIFICATE_REQUIRED|refused client certificate)"
        ):
            await t.request("GET", "/people")


async def test_mtls_missing_certificate_file_is_a_clear_error(
    tmp_path: object, mtls_server: HttpTestServer
) -> None:
    auth = {"type": "mtls", "cert": "/nonexistent/client.pem"}
    async with HttpTransport(Source(location=mtls_server.base_url, auth=auth, **FAST)) as t:
        with pytest.raises(
            ConnectorError,
            match=r"auth \(mtls\): cannot load the client certificate '/nonexistent/client.pem'",
        ):
            await t.request("GET", "/people")


async def test_requests_go_through_the_proxy(server: HttpTestServer) -> None:
    """The test server plays the proxy: an http:// request reaches it in absolute form."""
    src = Source(location="http://upstream.invalid", proxy=server.base_url, **FAST)
    async with HttpTransport(src) as t:
        response = await t.request("GET", "/echo", params={"x": 1})
    assert response.status_code == 200
    (seen,) = server.requests_to("/echo")
    assert seen.target == "http://upstream.invalid/echo?x=1"


async def test_default_headers_user_agent_and_base_path(transports: Make, server: HttpTestServer) -> None:
    t = transports(headers={"X-Tenant": "gemeente-1"})
    await t.request("GET", "/echo", headers={"X-Extra": "1"})
    (seen,) = server.requests_to("/echo")
    assert seen.headers["x-tenant"] == "gemeente-1" and seen.headers["x-extra"] == "1"
    assert seen.headers["user-agent"].startswith("openconnector/")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_credentials_do_not_follow_a_redirect_to_another_host(
    host: str, transports: Make, server: HttpTestServer
) -> None:
    server.route("/moved")(lambda req: Response(302, b"", {"Location": f"http://{host}:{server.port}/echo"}))
    auths = [AUTHS["api_key_header"], AUTHS["bearer"]]
    for auth in auths:
        response = await transports(auth=auth, headers={"X-Session": "sess-1234567"}).request("GET", "/moved")
        headers = response.json()["data"][0]["headers"]
        sent = {k for k in headers if k in ("x-api-key", "authorization", "x-session")}
        if host == "127.0.0.1":  # same origin: credentials kept
            assert sent == {"x-session", "x-api-key" if auth["type"] == "api_key" else "authorization"}
        else:
            assert sent == set()


def test_source_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="must be an http:// or https:// URL"):
        Source(location="ftp://example.org")
    with pytest.raises(ValidationError, match="auth type 'ssh_key' does not apply to HTTP sources"):
        Source(location="http://x", auth={"type": "ssh_key", "username": "u", "private_key": "/k"})
    with pytest.raises(ValidationError, match="retry_on holds HTTP error statuses"):
        Source(location="http://x", retry_on=[200])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Source(location="http://x", retires=3)
    assert "hunter22" not in repr(Source(location="http://x", auth={"type": "bearer", "token": "hunter22"}))


def test_display_is_relative_to_the_location() -> None:
    t = HttpTransport(Source(location="http://h.example/api/v1"))
    assert t.display("http://h.example/api/v1/people?page=2") == "/people?page=2"
    assert t.display("http://h.example/api/v10/x") == "http://h.example/api/v10/x"
    assert (
        t.display("http://u:secretpass@other.example/x?token=abc") == "http://u:***@other.example/x?token=***"
    )
