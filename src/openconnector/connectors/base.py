"""The contract between the pipeline engine and every protocol.

A connector is a small class registered under its ``type``. It declares two pydantic models —
``Source`` (the ``sources.<name>`` block: ``type``, ``location``, ``auth`` and its own options)
and ``Read`` (the pipeline's ``read`` block) — and an async :meth:`Connector.read` that yields
:class:`Batch` objects. The connector knows nothing of mappings, registers or the store: it turns
an external system into batches of plain JSON-able dicts, and says whether the read was complete.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from openconnector.connectors.auth import Auth, NoAuth
from openconnector.connectors.memory import Memory

#: where a connector does its reading: ``read.reader`` of the sources that can read in a child
#: process (databases, RabbitMQ); ``auto`` lets the connector decide by the size of the read
Reader = Literal["auto", "thread", "process"]


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SourceBase(StrictModel):
    """Keys every source has. Connectors subclass this and add their own options."""

    type: str
    location: str = Field("", description="Where the system is: a base URL, a DSN, a host or a folder.")
    auth: Auth = Field(default_factory=NoAuth, description="How to authenticate; see the auth docs.")
    description: str | None = None


class IncrementalConfig(StrictModel):
    """Read only what changed since the last complete run."""

    cursor: str = Field(description="Dot-path (or column) in each record holding a timestamp or number.")
    param: str | None = Field(
        None, description="Protocol-specific name under which the stored cursor is sent (REST: query param)."
    )
    start: Any = Field(None, description="Cursor value to use on the first run (default: read everything).")
    lookback: float | None = Field(
        None,
        description="Seconds (timestamps) or units (numbers) to re-read before the cursor, for late rows.",
    )


class ReadBase(StrictModel):
    """Keys of a pipeline's ``read`` block that mean the same thing for every protocol."""

    records: str | None = Field(
        None,
        description="Dot-path to the record list in a response/message/file; empty or absent = the root.",
    )
    id: str | list[str] = Field(
        "id", description="Dot-path of the origin id in a record, or a list of paths for a composite id."
    )
    incremental: IncrementalConfig | None = None
    batch_size: int = Field(1000, ge=1, le=100_000, description="Records per batch handed to the engine.")


@dataclass(slots=True)
class RecordError:
    """A record the source delivered but the connector could not decode (bad CSV row, bad XML).

    The engine quarantines it with ``raw`` (what was received, as text or JSON) and ``error``; ``where``
    says where it came from (``file.csv line 17``), ``origin_id`` may be ``None``.
    """

    raw: Any
    error: str
    where: str | None = None
    origin_id: str | None = None


@dataclass(slots=True)
class Batch:
    """One page / chunk / set of messages.

    ``meta`` (optional) is parallel to ``records``: per-record metadata such as a file name and row
    number, or a message key, headers, partition and offset. Mappings see it as ``_meta``.
    ``ack`` is awaited by the engine after the batch's outcome is committed to the store (move a file,
    ack messages, commit offsets); ``nack`` if committing failed.
    """

    records: list[dict[str, Any]]
    meta: list[dict[str, Any]] | None = None
    errors: list[RecordError] = field(default_factory=list)
    ack: Callable[[], Awaitable[None]] | None = None
    nack: Callable[[BaseException], Awaitable[None]] | None = None
    where: str | None = None  # e.g. "page 3" or "people.csv", used in messages
    #: optional, parallel to ``records``: each record's origin id and source hash exactly as the
    #: engine would compute them (:class:`~openconnector.ids.IdResolver` over
    #: ``read.id``, :func:`~openconnector.ids.source_hash`), given by a
    #: connector that converts records in another process so the engine's interpreter need not
    origins: list[str | None] | None = None
    hashes: list[str] | None = None


@dataclass
class ReadContext:
    """State handed to :meth:`Connector.read` and filled in by it.

    In: the stored incremental ``cursor`` (``None`` on a full read or the first run), ``full``.
    Out: ``complete`` — set it to ``False`` (with a ``reason``) when the connector stops early for a
    reason that is not an exception (``max_pages`` reached); the engine then never deletes.
    ``new_cursor`` — a connector that tracks its own high-water mark sets it; otherwise the engine
    uses the maximum of ``read.incremental.cursor`` over the records it saw.
    ``state`` — connector-private JSON state for this pipeline, a few values. The engine loads it
    before the read and saves it, when it changed, with every committed batch (and at the end of the
    run): a change made before a batch is yielded is persisted together with that batch's outcome.
    ``memory`` — connector-private keyed memory that grows with the source (the files an
    ``after: keep`` drop processed): saved the same way, but only the keys that changed
    (:mod:`openconnector.connectors.memory`).

    Queues (connectors whose ``modes`` include ``"consume"``): with ``follow`` false (a ``run``) the
    connector reads what is available when the read starts and returns; with ``follow`` true (the
    ``consume`` trigger) it keeps yielding batches as messages arrive and returns at the next batch
    boundary once ``stop`` is set.
    """

    pipeline: str
    cursor: Any = None
    full: bool = False
    complete: bool = True
    reason: str | None = None
    new_cursor: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    memory: Memory = field(default_factory=Memory)
    warnings: list[str] = field(default_factory=list)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("openconnector.connector"))
    follow: bool = False
    stop: asyncio.Event | None = None

    def incomplete(self, reason: str) -> None:
        self.complete = False
        self.reason = reason
        self.warnings.append(reason)


class ConnectorError(Exception):
    """A failure talking to the source. ``where`` names the page/file/etc.; message has no secrets."""

    def __init__(self, message: str, *, where: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.where = where
        self.retryable = retryable

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{self.where}: {msg}" if self.where else msg


class Connector(ABC):
    """Base class of every protocol. Subclasses set ``type``, ``Source`` and ``Read``."""

    type: ClassVar[str]
    Source: ClassVar[builtins.type[SourceBase]] = SourceBase
    Read: ClassVar[builtins.type[ReadBase]] = ReadBase
    #: which directions the protocol supports; write-back/events check ``"write" in modes``
    modes: ClassVar[Sequence[Literal["read", "write", "consume"]]] = ("read",)

    def __init__(self, name: str, source: SourceBase) -> None:
        self.name = name
        self.source = source

    @abstractmethod
    def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        """Yield batches of records. Raise :class:`ConnectorError` on failure (the engine makes the
        run partial when batches were already processed, failed otherwise)."""

    async def write(self, target: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
        """Write records back to the source (write-back/events). ``target`` is protocol-specific."""
        raise NotImplementedError(f"source type {self.type!r} does not support writing")

    async def check(self) -> None:  # noqa: B027 - optional hook
        """Cheap connectivity check for ``/readyz`` and ``openconnector sources check``."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called once after a run."""

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
