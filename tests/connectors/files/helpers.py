"""Drive a file-drop connector the way the engine does: iterate ``read()``, "commit" each batch,
then await its ``ack`` — so tests see exactly what moves when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openconnector.connectors.base import Batch, Connector, ReadContext, RecordError
from openconnector.connectors.files.config import FileRead


def make_read(connector: type[Connector] | Connector, **kw: Any) -> FileRead:
    kw.setdefault("stable_seconds", 0)
    read = connector.Read.model_validate(kw)
    assert isinstance(read, FileRead)
    return read


@dataclass
class Collected:
    batches: list[Batch] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    meta: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    def ids(self, key: str = "id") -> list[Any]:
        return [r[key] for r in self.records]


async def drain(
    connector: Connector, read: FileRead, ctx: ReadContext | None = None, *, ack: bool = True
) -> tuple[Collected, ReadContext]:
    ctx = ctx or ReadContext(pipeline="test")
    out = Collected()
    async for batch in connector.read(read, ctx):
        out.batches.append(batch)
        out.records.extend(batch.records)
        out.meta.extend(batch.meta or [{}] * len(batch.records))
        out.errors.extend(batch.errors)
        if ack and batch.ack is not None:
            await batch.ack()
    return out, ctx


def csv_text(n: int, *, start: int = 1) -> str:
    rows = ["id,name,amount"] + [f"{i},name {i},{i * 10}" for i in range(start, start + n)]
    return "\n".join(rows) + "\n"
