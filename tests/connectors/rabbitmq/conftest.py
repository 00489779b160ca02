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
