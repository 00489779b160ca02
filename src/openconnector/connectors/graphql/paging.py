"""Relay cursor pagination: ``first``/``after`` in, ``pageInfo { hasNextPage endCursor }`` out.

``hasNextPage`` decides; the rules lean, as everywhere, towards not ending a read silently:

* a connection without ``pageInfo`` (the query does not select it) is an error on page 1, never a
  one-page read;
* ``hasNextPage: true`` with no ``endCursor``, or a cursor seen before, is an error;
* ``hasNextPage: true`` on an empty page stops the read and marks it incomplete (following it
  could loop forever; trusting the empty page could look like the end).

The page and offset kinds come from the REST connector's pagers: their values are variables here.
"""

from __future__ import annotations

from typing import Any

from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.graphql.options import RelayPagination
from openconnector.connectors.rest.paging import Page, Pager, PageRequest, make_pager
from openconnector.jsonutil import get_path


class RelayPager(Pager):
    """``page.body`` is the response's ``data``; the connection is at ``cfg.connection`` in it."""

    def __init__(self, cfg: RelayPagination) -> None:
        size = {cfg.size_param: cfg.size} if cfg.size_param and cfg.size else {}
        super().__init__("", size)
        self.cfg = cfg
        self.seen: set[str] = set()

    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None:
        where = page.request.where
        path = f"{self.cfg.connection}.pageInfo"
        info = get_path(page.body, path)
        if not isinstance(info, dict) or "hasNextPage" not in info:
            raise ConnectorError(
                f"relay pagination: {path}.hasNextPage is not in the response; select "
                f"pageInfo {{ hasNextPage endCursor }} on {self.cfg.connection} in the query",
                where=where,
            )
        if not info["hasNextPage"]:
            return None
        cursor = info.get("endCursor")
        if cursor is None or cursor == "":
            raise ConnectorError(
                f"relay pagination: hasNextPage is true but {path}.endCursor is empty "
                "(select endCursor in the query)",
                where=where,
            )
        token = str(cursor)
        if token in self.seen:
            raise ConnectorError(
                f"pagination loop: the server returned endCursor {token!r} again", where=where
            )
        self.seen.add(token)
        if page.count == 0:
            ctx.incomplete(f"{where} is empty but hasNextPage is true; stopped reading there")
            return None
        return PageRequest(page.request.number + 1, "", {**self.params, self.cfg.param: cursor})


def graphql_pager(pagination: Any, display: Any) -> Pager:
    """The pager for a read's pagination (``None``: one request)."""
    if isinstance(pagination, RelayPagination):
        return RelayPager(pagination)
    return make_pager(pagination, "", {}, follow=_no_links, display=display)


def _no_links(url: str, where: str) -> None:  # pragma: no cover - graphql has no next_link pagination
    raise ConnectorError("next links do not apply to GraphQL", where=where)


__all__ = ["RelayPager", "graphql_pager"]
