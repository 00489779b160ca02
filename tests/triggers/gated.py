"""A source for service tests: records from a dict the test fills, optionally held at a gate.

Runs execute in their own threads, so the gate is a ``threading.Event``: a test can keep a run
"in progress" as long as it needs (to trigger it twice, or to shut the server down under it).
This stands in for the *protocol* only; the engine, store, HTTP server and clients are real.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from openconnector.connectors import Batch, Connector, ReadBase, ReadContext, register


class GatedRead(ReadBase):
    dataset: str
    gate: str | None = None
    #: across processes: write ``<gate_file>.entered``, then wait until ``gate_file`` exists
    gate_file: str | None = None


@register
class GatedConnector(Connector):
    type = "gated"
    Read = GatedRead
    DATA: ClassVar[dict[str, list[Any]]] = {}
    GATES: ClassVar[dict[str, threading.Event]] = {}
    ENTERED: ClassVar[dict[str, threading.Event]] = {}

    @classmethod
    def gate(cls, name: str) -> tuple[threading.Event, threading.Event]:
        """(entered, release): ``entered`` is set when a read reaches the gate."""
        cls.GATES[name] = threading.Event()
        cls.ENTERED[name] = threading.Event()
        return cls.ENTERED[name], cls.GATES[name]

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, GatedRead)
        if read.dataset.startswith("n:"):  # n:<count>: generated (a test in another process)
            records: list[Any] = [{"id": i, "name": f"N{i}", "age": i} for i in range(int(read.dataset[2:]))]
        else:
            records = self.DATA.get(read.dataset, [])
        for i in range(0, max(len(records), 1), read.batch_size):
            if i == 0 and read.gate is not None and read.gate in self.GATES:
                self.ENTERED[read.gate].set()
                await asyncio.to_thread(self.GATES[read.gate].wait, 30)
            if i == 0 and read.gate_file is not None:
                Path(read.gate_file + ".entered").write_text("1")
                while not Path(read.gate_file).exists():
                    await asyncio.sleep(0.02)
            chunk = records[i : i + read.batch_size]
            if chunk:
                yield Batch(records=chunk, where=f"batch {i // read.batch_size + 1}")
