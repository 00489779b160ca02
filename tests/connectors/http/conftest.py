"""Fixtures for transport tests: a plain HTTP server with auth and chaos routes, and TLS servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openconnector.connectors.http import HttpSourceBase, HttpTransport
from tests.connectors.http.apps import AuthApp, ChaosApp
from tests.connectors.http.server import HttpTestServer, Response
from tests.connectors.http.tls import Pki, make_pki

FAST = {"backoff": 0.001, "backoff_max": 0.01, "timeout": 5}


class Source(HttpSourceBase):
    """A bare HTTP source, as a protocol would subclass it."""

    type: str = "http-test"


@pytest.fixture
def server() -> Iterator[HttpTestServer]:
    srv = HttpTestServer()
    srv.state["auth"] = AuthApp(srv)
    ChaosApp(srv)
    for kind in ("none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2"):
        srv.route(f"/auth/{kind}")(srv.state["auth"].protect(kind, lambda req: Response.json({"ok": True})))
    with srv:
        yield srv


@pytest.fixture
def auth_app(server: HttpTestServer) -> AuthApp:
    return server.state["auth"]  # type: ignore[no-any-return]


@pytest.fixture
async def transports(server: HttpTestServer) -> AsyncIterator[Callable[..., HttpTransport]]:
    """``transports(auth={...}, retries=2, ...)``: a transport on the test server, closed after the test."""
    made: list[HttpTransport] = []

    def make(**options: Any) -> HttpTransport:
        cfg = {"location": server.base_url, **FAST, **options}
        transport = HttpTransport(Source.model_validate(cfg))
        made.append(transport)
        return transport

    yield make
    for t in made:
        await t.aclose()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


def _tls_server(pki: Pki, require_client_cert: bool) -> HttpTestServer:
    srv = HttpTestServer(ssl_context=pki.server_context(require_client_cert=require_client_cert))
    srv.route("/people")(lambda req: Response.json({"data": [{"id": 1}, {"id": 2}]}))
    return srv


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[HttpTestServer]:
    with _tls_server(pki, require_client_cert=False) as srv:
        yield srv


@pytest.fixture
def mtls_server(pki: Pki) -> Iterator[HttpTestServer]:
    with _tls_server(pki, require_client_cert=True) as srv:
        yield srv
