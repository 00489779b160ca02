"""The contract between a queue connector and the continuous consumer (:mod:`openconnector.consume`).

A queue connector instance lives as long as its consumer: it connects once, subscribes once, and is
handed to one run after another, so a Kafka consumer does not rejoin its group (and rebalance every
other member) at each run boundary. Between runs the consumer asks :meth:`QueueConnector.wait_ready`
so that a run starts only when there is something to read — no empty runs while the queue is quiet.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from openconnector.connectors.base import Connector, ReadBase

#: headers a dead-lettered message carries, besides its own
DEAD_LETTER_HEADERS = {
    "reason": "x-openconnector-reason",
    "deliveries": "x-openconnector-deliveries",
    "source": "x-openconnector-source",
    "pipeline": "x-openconnector-pipeline",
    "failed_at": "x-openconnector-failed-at",
}


@dataclass
class MessageCounts:
    """Messages by what became of them (records by outcome are in the runs)."""

    delivered: int = 0  # handed to a run
    acked: int = 0  # acknowledged / offsets committed after their outcome was committed
    requeued: int = 0  # given back to the broker after a failed batch (will come again)
    dead_lettered: int = 0  # sent to the dead-letter exchange/topic
    undecodable: int = 0  # bodies that could not be decoded (quarantined or dead-lettered)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class QueueConnector(Connector):
    """A connector that can also consume continuously (``modes`` includes ``"consume"``)."""

    modes: ClassVar[Sequence[Literal["read", "write", "consume"]]] = ("read", "write", "consume")

    def __init__(self, name: str, source: Any) -> None:
        super().__init__(name, source)
        self.counts = MessageCounts()

    @abstractmethod
    async def open(self, read: ReadBase, pipeline: str) -> None:
        """Connect and subscribe (idempotent). Raises :class:`ConnectorError` with a clear message."""

    @abstractmethod
    async def wait_ready(self, stop: asyncio.Event) -> bool:
        """Wait until messages are waiting to be read (True) or ``stop`` is set (False, unless messages
        already wait). Raises :class:`ConnectorError` when the connection is lost."""

    @abstractmethod
    async def pause(self) -> None:
        """Take no new messages; the running read returns once what was delivered is processed.
        Used for a clean shutdown: nothing handed to this consumer goes back unprocessed."""

    @abstractmethod
    def pending(self) -> int:
        """Messages delivered to this consumer and not yet handed to a run."""

    def usable(self) -> bool:
        """Still connected and consistent. After a failed run the consumer keeps a usable connector
        (what was delivered to it stays there, in order, and is not counted as redelivered) and
        reopens one that is not."""
        return True

    def stats(self) -> dict[str, Any]:
        """Health and metrics for ``/readyz`` and the consumer snapshot (counts, lag, connection)."""
        return {"messages": self.counts.as_dict()}
