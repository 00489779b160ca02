"""How many times a message has been delivered, for the dead-letter rule (``read.max_deliveries``).

Quorum queues count for us: a redelivered message carries ``x-delivery-count`` (earlier failed
deliveries), and the count survives consumer and broker restarts. Classic queues only say
"redelivered"; for them this process counts the batches it gave back, keyed by message id (or the
body's hash), which is exact as long as the consumer process lives — so quorum queues are the
default when the connector declares the queue.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from openconnector.connectors.rabbitmq.relay import Delivered


def message_key(queue: str, msg: Delivered) -> str:
    props = msg.header.properties
    if props.message_id:
        return f"{queue}\0{props.message_id}"
    digest = hashlib.blake2b(msg.body, digest_size=16)
    digest.update((msg.routing_key or "").encode())
    return f"{queue}\0#{digest.hexdigest()}"


class DeliveryTracker:
    """Given-back counts per message of classic queues; bounded, oldest forgotten first."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._counts: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def given_back(self, queue: str, msgs: list[Delivered]) -> None:
        for m in msgs:
            if _header_count(m) is None:
                key = message_key(queue, m)
                self._counts[key] = self._counts.pop(key, 0) + 1
        while len(self._counts) > self.limit:
            self._counts.popitem(last=False)

    def settled(self, queue: str, msgs: list[Delivered]) -> None:
        if self._counts:
            for m in msgs:
                if m.delivery.redelivered:  # type: ignore[union-attr]
                    self._counts.pop(message_key(queue, m), None)

    def deliveries(self, queue: str, msg: Delivered) -> int:
        """This delivery's number: 1 for the first."""
        counted = _header_count(msg)
        if counted is not None:
            return counted + 1
        if not msg.delivery.redelivered:  # type: ignore[union-attr]
            return 1
        return max(2, self._counts.get(message_key(queue, msg), 0) + 1)


def _header_count(msg: Delivered) -> int | None:
    headers: Any = msg.header.properties.headers
    if headers:
        value = headers.get("x-delivery-count")
        if isinstance(value, int):
            return value
    return None


#: one per process: the count must outlive a connector that is closed and reopened after a failure
TRACKER = DeliveryTracker()
