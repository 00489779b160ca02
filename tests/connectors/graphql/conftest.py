"""Fixtures for GraphQL connector tests: the strawberry API under uvicorn, and a helper that reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from openconnector.connectors.base import Batch, ConnectorError, ReadContext
from openconnector.connectors.graphql import GraphQLConnector, GraphQLRead, GraphQLSource
from tests.connectors.graphql.app import PeopleState, UvicornThread, asgi_app, tls_options
from tests.connectors.http.apps import AuthApp
from tests.connectors.http.server import HttpTestServer
from tests.connectors.http.tls import Pki, make_pki

FAST = {"backoff": 0.001, "backoff_max": 0.01, "timeout": 5}

RELAY_QUERY = """
query People($first: Int, $after: String, $since: String) {
  people(first: $first, after: $after, updatedSince: $since) {
    edges { cursor node { id name updatedAt email address { city postcode } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@dataclass
class Api:
    state: PeopleState
    url: str


@pytest.fixture
def api() -> Iterator[Api]:
    state = PeopleState()
    with UvicornThread(asgi_app(state)) as server:
        yield Api(state, server.base_url + "/graphql")


@pytest.fixture
def token_server() -> Iterator[tuple[HttpTestServer, AuthApp]]:
    server = HttpTestServer()
    auth = AuthApp(server)
    with server:
        yield server, auth


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("graphql-pki")))


@pytest.fixture(scope="session")
def server_pem(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("graphql-server")) / "server.pem"
    pki.server_cert.private_key_and_cert_chain_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def mtls_api(pki: Pki, server_pem: str) -> Iterator[Api]:
    state = PeopleState()
    with UvicornThread(asgi_app(state), **tls_options(server_pem, str(pki.ca_pem))) as server:
        yield Api(state, server.base_url + "/graphql")


@dataclass
class Result:
    batches: list[Batch]
    ctx: ReadContext
    error: ConnectorError | None = None
    connector: GraphQLConnector | None = field(default=None, repr=False)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for b in self.batches for r in b.records]

    @property
    def ids(self) -> list[Any]:
        return [r.get("id") for r in self.records]


Reader = Callable[..., Awaitable[Result]]


@pytest.fixture
async def read(api: Api) -> AsyncIterator[Reader]:
    """``await read({read block}, source={...}, cursor=..., full=...)`` → :class:`Result`."""
    connectors: list[GraphQLConnector] = []

    async def run(
        read_cfg: dict[str, Any],
        *,
        source: dict[str, Any] | None = None,
        cursor: Any = None,
        full: bool = False,
        context: dict[str, Any] | None = None,
    ) -> Result:
        src = GraphQLSource.model_validate({"type": "graphql", "location": api.url, **FAST, **(source or {})})
        connector = GraphQLConnector("test-graphql", src)
        connectors.append(connector)
        ctx = ReadContext(pipeline="test", cursor=cursor, full=full)
        result = Result([], ctx, connector=connector)
        try:
            async for batch in connector.read(GraphQLRead.model_validate(read_cfg, context=context), ctx):
                result.batches.append(batch)
        except ConnectorError as exc:
            result.error = exc
        return result

    yield run
    for c in connectors:
        await c.aclose()
