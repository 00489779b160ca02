"""Runs over records the caller already has (webhook bodies, quarantine replays).

They take the same map → validate → upsert path as a pull run; only the reading differs. Such a run
is never a complete read of the source, so it never deletes and never moves the cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from openconnector.connectors.base import Batch, Connector, ReadBase, ReadContext, SourceBase


class GivenRecords(Connector):
    """Yields a fixed list of records in batches of ``read.batch_size``."""

    type = "given-records"

    def __init__(
        self,
        records: Sequence[Any],
        meta: Sequence[dict[str, Any]] | None = None,
        *,
        where: str = "given records",
    ) -> None:
        super().__init__(self.type, SourceBase(type=self.type, location=""))
        self.records = records
        self.meta = meta
        self.where = where

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        size = read.batch_size
        for i in range(0, len(self.records), size):
            yield Batch(
                records=list(self.records[i : i + size]),
                meta=list(self.meta[i : i + size]) if self.meta is not None else None,
                where=f"{self.where} {i + 1}-{min(i + size, len(self.records))}",
            )
