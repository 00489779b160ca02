from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connectors.kafka.broker import Tansu


@pytest.fixture
def own_tansu(tmp_path: Path) -> Iterator[Tansu]:
    """A broker of the test's own (to restart it without disturbing the others)."""
    broker = Tansu(tmp_path)
    broker.start()
    yield broker
    broker.stop()
