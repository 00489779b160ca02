"""Fixtures for REST connector tests: the test API on a real server, and a helper that reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from openconnector.connectors.base import Batch, ConnectorError, ReadContext
from openconnector.connectors.rest import RestConnector, RestRead, RestSource
from tests.connectors.http.apps import AuthApp, ChaosApp
from tests.connectors.http.server import HttpTestServer
from tests.connectors.rest.app import RestApi

FAST = {"backoff": 0.001, "backoff_max": 0.01, "timeout": 5}


@pytest.fixture
def api() -> Iterator[RestApi]:
    server = HttpTestServer()
    rest = RestApi(server, AuthApp(server))
    ChaosApp(server)
    with server:
        yield rest


@dataclass
class Result:
    batches: list[Batch]
    ctx: ReadContext
    error: ConnectorError | None = None
    connector: RestConnector | None = field(default=None, repr=False)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for b in self.batches for r in b.records]

    @property
    def ids(self) -> list[Any]:
        return [r.get("id") for r in self.records]


Reader = Callable[..., Awaitable[Result]]


@pytest.fixture
async def read(api: RestApi) -> AsyncIterator[Reader]:
    """``await read({read block}, source={...}, cursor=..., full=...)`` → :class:`Result`.

    A :class:`ConnectorError` is caught into ``result.error`` so tests can check what was yielded first.
    """
    connectors: list[RestConnector] = []

    async def run(
        read_cfg: dict[str, Any],
        *,
        source: dict[str, Any] | None = None,
        cursor: Any = None,
        full: bool = False,
    ) -> Result:
        src = RestSource.model_validate(
            {"type": "rest", "location": api.server.base_url, **FAST, **(source or {})}
        )
        connector = RestConnector("test-source", src)
        connectors.append(connector)
        ctx = ReadContext(pipeline="test", cursor=cursor, full=full)
        result = Result([], ctx, connector=connector)
        try:
            async for batch in connector.read(RestRead.model_validate(read_cfg), ctx):
                result.batches.append(batch)
        except ConnectorError as exc:
            result.error = exc
        return result

    yield run
    for c in connectors:
        await c.aclose()
