from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.connectors.rabbitmq.helpers import Rabbit, unique


@pytest.fixture
async def rabbit() -> AsyncIterator[Rabbit]:
    r = await Rabbit.connect()
    yield r
    await r.close()


@pytest.fixture
async def queue(rabbit: Rabbit) -> str:
    name = unique()
    await rabbit.declare(name)
    return name


@pytest.fixture(params=["thread", "process"])
def reader(request: pytest.FixtureRequest) -> str:
    """``read.reader``: deliveries taken in the engine's process, or by the relay child process."""
    return str(request.param)
