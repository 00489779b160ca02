"""The ``rest`` connector: pages of JSON (or XML) from an HTTP API, one batch per page.

While the engine processes page N the next page is already being fetched (at most one ahead, so
memory stays flat). A failure on any page is raised after the pages before it were yielded, so the
engine keeps them and marks the run partial.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from openconnector.connectors import register
from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext
from openconnector.connectors.http import HttpTransport, decode_body
from openconnector.connectors.http.pages import read_pages
from openconnector.connectors.rest.options import RestRead, RestSource
from openconnector.connectors.rest.paging import Page, PageRequest, make_pager
from openconnector.connectors.rest.records import extract_records
from openconnector.timeutil import parse_iso


def cursor_with_lookback(cursor: Any, lookback: float | None) -> Any:
    """The stored cursor moved back by ``lookback`` (seconds for timestamps, units for numbers),
    so rows that were written late, with an older timestamp, are read again."""
    if not lookback:
        return cursor
    if isinstance(cursor, (int, float)) and not isinstance(cursor, bool):
        return type(cursor)(cursor - lookback)
    if isinstance(cursor, str):
        try:
            moved = parse_iso(cursor) - timedelta(seconds=lookback)
        except ValueError:
            return cursor
        text = moved.isoformat()
        return text.replace("+00:00", "Z") if cursor.endswith("Z") else text
    return cursor


@register
class RestConnector(Connector):
    type = "rest"
    Source = RestSource
    Read = RestRead

    def __init__(self, name: str, source: RestSource) -> None:
        super().__init__(name, source)
        self.transport = HttpTransport(source, logger=logging.getLogger(f"openconnector.source.{name}"))

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def check(self) -> None:
        response = await self.transport.request("GET", "", where="check", raise_for_status=False)
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise ConnectorError(f"GET {self.transport.display(response.url)}: HTTP {response.status_code}")

    def _params(self, read: RestRead, ctx: ReadContext) -> dict[str, Any]:
        params: dict[str, Any] = dict(read.query)
        inc = read.incremental
        if inc is not None and ctx.cursor is not None and not ctx.full:
            params[inc.param or inc.cursor] = cursor_with_lookback(ctx.cursor, inc.lookback)
        return params

    def _follow(self, url: str, where: str) -> None:
        if self.source.auth.type != "none" and not self.transport.same_origin(url):
            raise ConnectorError(
                f"the next page is on another host ({self.transport.display(url)}); "
                "not sending this source's credentials there",
                where=where,
            )

    async def _fetch(self, read: RestRead, request: PageRequest) -> Page:
        where = request.where
        response = await self.transport.request(
            read.method,
            request.url,
            params=request.params,
            headers=read.headers or None,
            json=read.body,
            where=where,
        )
        shown = f"{read.method} {self.transport.display(response.request.url)}"
        body = decode_body(
            response,
            read.format,
            shown=shown,
            where=where,
            redactor=self.transport.redactor,
            xml_lists=read.xml_lists,
        )
        records, errors = extract_records(
            body, read.records, paginated=read.pagination is not None, shown=shown, where=where
        )
        return Page(request, response, body, records, errors)

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, RestRead)
        pager = make_pager(
            read.pagination,
            read.path,
            self._params(read, ctx),
            follow=self._follow,
            display=self.transport.display,
        )
        async for batch in read_pages(
            pager,
            lambda request: self._fetch(read, request),
            ctx,
            batch_size=read.batch_size,
            max_pages=read.max_pages,
        ):
            yield batch


__all__ = ["RestConnector", "cursor_with_lookback"]
