"""The ``graphql`` connector: one query, posted once per page, its records under ``data``.

Queries are POSTed as JSON (``{"query", "variables", "operationName"}``) through the shared
:class:`HttpTransport`. A read is a query, so it is retried like any idempotent request. Error
responses that carry a GraphQL ``errors`` array (a 400 for a query that does not parse, say) are
not retried: they fail the page with the server's own messages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from openconnector.connectors import register
from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext
from openconnector.connectors.graphql.options import GraphQLRead, GraphQLSource
from openconnector.connectors.graphql.paging import graphql_pager
from openconnector.connectors.graphql.response import (
    error_list,
    fail_on_errors,
    field_errors,
    records_of,
    summary,
)
from openconnector.connectors.http import HttpTransport, decode_body
from openconnector.connectors.http.body import content_type
from openconnector.connectors.http.pages import read_pages
from openconnector.connectors.http.templating import compile_value, render
from openconnector.connectors.rest.connector import cursor_with_lookback
from openconnector.connectors.rest.paging import Page, PageRequest
from openconnector.jsonutil import MISSING, get_path

HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/graphql-response+json, application/json;q=0.9",
}
#: error statuses whose GraphQL ``errors`` body is the answer (asking again changes nothing)
_FINAL_STATUSES = frozenset({400, 404, 405, 413, 415, 422})
#: errors of one page that become run warnings (all of them are logged)
WARNED_ERRORS = 20


def _graphql_error_response(response: httpx.Response) -> bool:
    if response.status_code not in _FINAL_STATUSES or "json" not in content_type(response):
        return False
    try:
        return bool(error_list(orjson.loads(response.content)))
    except orjson.JSONDecodeError:
        return False


@register
class GraphQLConnector(Connector):
    type = "graphql"
    Source = GraphQLSource
    Read = GraphQLRead

    def __init__(self, name: str, source: GraphQLSource) -> None:
        super().__init__(name, source)
        self.transport = HttpTransport(source, logger=logging.getLogger(f"openconnector.source.{name}"))

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def execute(
        self, query: str, variables: dict[str, Any], *, operation_name: str | None = None, where: str
    ) -> tuple[httpx.Response, dict[str, Any], list[Any]]:
        """Post one query: the HTTP response, the decoded body and its ``errors`` (possibly empty).

        Raises ConnectorError when the response carries no usable ``data``.
        """
        payload: dict[str, Any] = {"query": query, "variables": variables}
        if operation_name:
            payload["operationName"] = operation_name
        response = await self.transport.request(
            "POST",
            "",
            content=orjson.dumps(payload),
            headers=HEADERS,
            where=where,
            final=_graphql_error_response,
        )
        shown = f"POST {self.transport.display(response.request.url)}"
        body = decode_body(response, "json", shown=shown, where=where, redactor=self.transport.redactor)
        if not isinstance(body, dict) or not ("data" in body or "errors" in body):
            raise ConnectorError(
                f"{shown}: not a GraphQL response (expected an object with data or errors)", where=where
            )
        errors = error_list(body)
        if errors and (body.get("data") is None or response.status_code >= 400):
            raise fail_on_errors(errors, shown=shown, where=where, redact=self.transport.redactor.text)
        if body.get("data") is None:
            raise ConnectorError(f"{shown}: the response has no data and no errors", where=where)
        return response, body, errors

    async def check(self) -> None:
        await self.execute("query { __typename }", {}, where="check")

    def _report(self, errors: list[Any], data: Any, read: GraphQLRead, ctx: ReadContext, where: str) -> None:
        """Errors that came with data: logged one by one, and the read made incomplete."""
        found = field_errors(errors, data, read.records_path, read.id)
        redact = self.transport.redactor.text
        ctx.incomplete(
            f"{where}: {len(errors)} GraphQL error(s) with partial data: {redact(summary(errors))}"
        )
        for n, error in enumerate(found):
            who = ""
            if error.record is not None:
                ident = f" (id {error.origin_id!r})" if error.origin_id is not None else ""
                who = f"record {error.record}{ident}: "
            text = redact(f"{where}: {who}{error.text}")
            ctx.log.warning("GraphQL error: %s", text)
            if n < WARNED_ERRORS:
                ctx.warnings.append(f"GraphQL error: {text}")
        if len(found) > WARNED_ERRORS:
            ctx.warnings.append(f"{where}: {len(found) - WARNED_ERRORS} more GraphQL errors (see the log)")

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, GraphQLRead)
        variables = compile_value(read.variables)
        inc = read.incremental
        cursor = None
        if inc is not None and ctx.cursor is not None and not ctx.full:
            cursor = cursor_with_lookback(ctx.cursor, inc.lookback)
        records_path = read.records_path
        paginated = read.pagination is not None

        async def fetch(request: PageRequest) -> Page:
            where = request.where
            values = render(
                variables, {"cursor": cursor, **(request.params or {})}, what="variables", where=where
            )
            if inc is not None and inc.param and cursor is not None:
                values[inc.param] = cursor
            values.update(request.params or {})
            response, body, errors = await self.execute(
                read.document, values, operation_name=read.operation_name, where=where
            )
            data = body["data"]
            shown = f"POST {self.transport.display(response.request.url)}"
            found = get_path(data, records_path)
            if errors and (found is None or found is MISSING):  # the errors took the records with them
                raise fail_on_errors(errors, shown=shown, where=where, redact=self.transport.redactor.text)
            records, bad = records_of(data, records_path, paginated=paginated, shown=shown, where=where)
            if errors:
                self._report(errors, data, read, ctx, where)
            return Page(request, response, data, records, bad)

        pager = graphql_pager(read.pagination, self.transport.display)
        async for batch in read_pages(
            pager, fetch, ctx, batch_size=read.batch_size, max_pages=read.max_pages
        ):
            yield batch


__all__ = ["GraphQLConnector"]
