"""An in-process source for engine tests: records come from a dict the test fills.

This is a test double for the *engine's* logic (accounting, hashes, deletes, quarantine); every
real protocol is tested against a real server in tests/connectors/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from openconnector.connectors import (
    Batch,
    Connector,
    ConnectorError,
    ReadBase,
    ReadContext,
    SourceBase,
    register,
)


class MemoryRead(ReadBase):
    dataset: str
    fail_after_batches: int | None = None
    interrupt_after_batches: int | None = None
    stop_early: bool = False


@register
class MemoryConnector(Connector):
    type = "memory"
    Read = MemoryRead
    DATA: ClassVar[dict[str, list[Any]]] = {}
    SEEN_CURSORS: ClassVar[list[Any]] = []

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, MemoryRead)
        self.SEEN_CURSORS.append(ctx.cursor)
        records = self.DATA[read.dataset]
        for n, i in enumerate(range(0, len(records), read.batch_size)):
            if read.fail_after_batches is not None and n >= read.fail_after_batches:
                raise ConnectorError("HTTP 500 after 4 attempts", where=f"page {n + 1}")
            if read.interrupt_after_batches is not None and n >= read.interrupt_after_batches:
                raise KeyboardInterrupt
            yield Batch(records=records[i : i + read.batch_size], where=f"page {n + 1}")
        if read.stop_early:
            ctx.incomplete("max_pages (1) reached; more pages exist")


__all__ = ["MemoryConnector", "SourceBase"]
