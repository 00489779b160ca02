"""Fixtures for SOAP connector tests: the spyne service on a real server, and a helper that reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openconnector.connectors.base import Batch, ConnectorError, ReadContext
from openconnector.connectors.soap import SoapConnector, SoapRead, SoapSource, forget_documents
from tests.connectors.http.server import HttpTestServer
from tests.connectors.http.tls import Pki, make_pki
from tests.connectors.soap.service import SoapService

FAST = {"backoff": 0.001, "backoff_max": 0.01, "timeout": 5}


@pytest.fixture(autouse=True)
def _fresh_wsdl_cache() -> Iterator[None]:
    """Each test loads its WSDLs itself (ports differ per test, and cache tests count loads)."""
    forget_documents()
    yield
    forget_documents()


@pytest.fixture
def soap() -> Iterator[SoapService]:
    server = HttpTestServer()
    service = SoapService(server)
    with server:
        yield service


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("soap-pki")))


@pytest.fixture
def mtls_soap(pki: Pki) -> Iterator[SoapService]:
    server = HttpTestServer(ssl_context=pki.server_context(require_client_cert=True))
    service = SoapService(server)
    with server:
        yield service


@dataclass
class Result:
    batches: list[Batch]
    ctx: ReadContext
    error: ConnectorError | None = None
    connector: SoapConnector | None = field(default=None, repr=False)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for b in self.batches for r in b.records]

    @property
    def ids(self) -> list[Any]:
        return [r.get("id") for r in self.records]


Reader = Callable[..., Awaitable[Result]]


@pytest.fixture
async def read(soap: SoapService) -> AsyncIterator[Reader]:
    """``await read({read block}, source={...}, path="/soap11", cursor=..., full=...)`` → :class:`Result`.

    A :class:`ConnectorError` is caught into ``result.error`` so tests can check what was yielded first.
    """
    connectors: list[SoapConnector] = []

    async def run(
        read_cfg: dict[str, Any],
        *,
        source: dict[str, Any] | None = None,
        path: str = "/soap11",
        cursor: Any = None,
        full: bool = False,
    ) -> Result:
        cfg = {"type": "soap", "location": soap.url(path), **FAST, **(source or {})}
        connector = SoapConnector("test-soap", SoapSource.model_validate(cfg))
        connectors.append(connector)
        ctx = ReadContext(pipeline="test", cursor=cursor, full=full)
        result = Result([], ctx, connector=connector)
        try:
            async for batch in connector.read(SoapRead.model_validate(read_cfg), ctx):
                result.batches.append(batch)
        except ConnectorError as exc:
            result.error = exc
        return result

    yield run
    for c in connectors:
        await c.aclose()
