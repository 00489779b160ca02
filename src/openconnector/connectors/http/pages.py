"""Reading a paginated source page by page, one page ahead, as batches for the engine.

Shared by the protocols whose reads are "request a page, find its records, work out the next
request" (soap, graphql; rest has the same loop inline). While the engine processes page N the
request for page N+1 is already out — at most one ahead, so memory stays flat. A failure on any
page is raised after the pages before it were yielded, so the engine keeps them and marks the run
partial; a ``max_pages`` cut marks the read incomplete so nothing is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from openconnector.connectors.base import Batch, ConnectorError, ReadContext, RecordError


class PageRequestLike(Protocol):
    @property
    def number(self) -> int: ...

    @property
    def where(self) -> str: ...


class PageLike(Protocol):
    @property
    def request(self) -> Any: ...  # a PageRequestLike

    @property
    def records(self) -> list[dict[str, Any]]: ...

    @property
    def errors(self) -> list[RecordError]: ...


R = TypeVar("R", bound=PageRequestLike)
P = TypeVar("P", bound=PageLike)
R_co = TypeVar("R_co", bound=PageRequestLike, covariant=True)
P_contra = TypeVar("P_contra", bound=PageLike, contravariant=True)


class PagerLike(Protocol[R_co, P_contra]):
    def first(self) -> R_co: ...

    def next(self, page: P_contra, ctx: ReadContext) -> R_co | None: ...


def page_batches(
    records: list[dict[str, Any]], errors: Sequence[RecordError], size: int, where: str
) -> list[Batch]:
    """One page as batches of at most ``size`` records (its record errors go with the first)."""
    if not records and not errors:
        return []
    if len(records) <= size:
        return [Batch(records=records, errors=list(errors), where=where)]
    return [
        Batch(records=records[i : i + size], errors=list(errors) if i == 0 else [], where=where)
        for i in range(0, len(records), size)
    ]


async def read_pages(
    pager: PagerLike[R, P],
    fetch: Callable[[R], Awaitable[P]],
    ctx: ReadContext,
    *,
    batch_size: int,
    max_pages: int | None = None,
) -> AsyncIterator[Batch]:
    """Yield every page's records; ``fetch`` turns a request into a page (raising ConnectorError)."""
    task: asyncio.Task[P] | None = asyncio.create_task(_awaited(fetch(pager.first())))
    try:
        while task is not None:
            page = await task
            task = None
            stop: ConnectorError | None = None
            try:
                request = pager.next(page, ctx)
            except ConnectorError as exc:  # a bad next page: this page's records still count
                request, stop = None, exc
            if request is not None:
                if max_pages is not None and page.request.number >= max_pages:
                    ctx.incomplete(f"max_pages ({max_pages}) reached; more pages exist")
                else:
                    task = asyncio.create_task(_awaited(fetch(request)))
            for batch in page_batches(page.records, page.errors, batch_size, page.request.where):
                yield batch
            if stop is not None:
                raise stop
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _awaited(awaitable: Awaitable[P]) -> P:
    return await awaitable


__all__ = ["PageLike", "PageRequestLike", "PagerLike", "page_batches", "read_pages"]
