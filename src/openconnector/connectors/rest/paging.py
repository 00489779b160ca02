"""Pagination: from one page's response to the request for the next, or to the end.

Ending too early is the dangerous mistake (the run looks complete and a ``delete`` pipeline
removes what it did not see), so the rules lean towards one request too many:

* an empty page always ends the read;
* a short page (fewer records than the page size asked for) ends it only after an earlier page
  came back full — a server that caps ``per_page`` below what was asked is not taken for the end;
* a cursor or next link that is absent, null or empty ends it; one seen before is an error
  (the server is looping), not the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from openconnector.connectors.base import ConnectorError, ReadContext, RecordError
from openconnector.connectors.rest.options import (
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    PagePagination,
    Pagination,
)
from openconnector.jsonutil import MISSING, get_path


@dataclass(slots=True)
class PageRequest:
    number: int  # 1-based count of pages requested
    url: str  # a path under the source location, or an absolute URL
    params: dict[str, Any] | None  # None when ``url`` carries the query (next links)

    @property
    def where(self) -> str:
        return f"page {self.number}"


@dataclass(slots=True)
class Page:
    request: PageRequest
    response: httpx.Response
    body: Any
    records: list[dict[str, Any]]
    errors: list[RecordError] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Items the page held, decodable or not: what page sizes are compared with."""
        return len(self.records) + len(self.errors)


class Pager(ABC):
    """Makes the first request and, from each page, the next one (``None``: that was the last)."""

    def __init__(self, path: str, params: dict[str, Any]) -> None:
        self.path = path
        self.params = params

    def first(self) -> PageRequest:
        return PageRequest(1, self.path, self._params_for_first())

    def _params_for_first(self) -> dict[str, Any]:
        return dict(self.params)

    @abstractmethod
    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None: ...


class SinglePager(Pager):
    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None:
        return None


class _ShortPageRule:
    """Whether a page with ``count`` items is the last one, given the page size asked for."""

    def __init__(self, size: int | None) -> None:
        self.size = size
        self.full_seen = False

    def ends(self, count: int) -> bool:
        if count == 0:
            return True
        if self.size is None:
            return False
        if count > self.size:  # the server ignores the size: only an empty page ends the read
            self.size = None
            return False
        if count == self.size:
            self.full_seen = True
            return False
        return self.full_seen


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class PagePager(Pager):
    def __init__(self, cfg: PagePagination, path: str, params: dict[str, Any]) -> None:
        super().__init__(path, params)
        self.cfg = cfg
        size = cfg.size
        if cfg.size_param:
            if size is not None:
                self.params = {**params, cfg.size_param: size}
            else:
                size = _as_int(params.get(cfg.size_param))
        self.rule = _ShortPageRule(size)

    def _params_for_first(self) -> dict[str, Any]:
        return {**self.params, self.cfg.param: self.cfg.start}

    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None:
        if self.rule.ends(page.count):
            return None
        number = page.request.number + 1
        return PageRequest(number, self.path, {**self.params, self.cfg.param: self.cfg.start + number - 1})


class OffsetPager(Pager):
    def __init__(self, cfg: OffsetPagination, path: str, params: dict[str, Any]) -> None:
        super().__init__(path, {**params, cfg.limit_param: cfg.limit})
        self.cfg = cfg
        self.offset = cfg.start
        self.rule = _ShortPageRule(cfg.limit)

    def _params_for_first(self) -> dict[str, Any]:
        return {**self.params, self.cfg.param: self.offset}

    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None:
        if self.rule.ends(page.count):
            return None
        self.offset += page.count  # not the limit: a server that caps the limit loses nothing
        return PageRequest(page.request.number + 1, self.path, {**self.params, self.cfg.param: self.offset})


class _TokenPager(Pager):
    """Shared by cursor and next-link paging: end on no token, fail on a token seen before."""

    kind = "token"

    def __init__(self, path: str, params: dict[str, Any]) -> None:
        super().__init__(path, params)
        self.seen: set[str] = set()

    def _shown(self, token: str) -> str:
        return repr(token)

    def _token(self, page: Page, path: str | None, ctx: ReadContext) -> str | None:
        value = get_path(page.body, path) if path else MISSING
        if value is MISSING:
            if page.request.number == 1 and path:
                ctx.warnings.append(
                    f"{self.kind} path {path!r} is not in the response of page 1; treated as the last page"
                )
            return None
        if value is None or value == "":
            return None
        token = str(value)
        if token in self.seen:
            raise ConnectorError(
                f"pagination loop: the server returned {self.kind} {self._shown(token)} again",
                where=page.request.where,
            )
        self.seen.add(token)
        return token


class CursorPager(_TokenPager):
    kind = "cursor"

    def __init__(self, cfg: CursorPagination, path: str, params: dict[str, Any]) -> None:
        super().__init__(path, params)
        self.cfg = cfg

    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None:
        token = self._token(page, self.cfg.cursor_path, ctx)
        if token is None or page.count == 0:
            return None
        return PageRequest(page.request.number + 1, self.path, {**self.params, self.cfg.param: token})


class NextLinkPager(_TokenPager):
    kind = "next link"

    def __init__(
        self,
        cfg: NextLinkPagination,
        path: str,
        params: dict[str, Any],
        *,
        follow: Callable[[str, str], None],
        display: Callable[[str], str],
    ) -> None:
        super().__init__(path, params)
        self.cfg = cfg
        self.follow = follow  # (url, where): raises if credentials must not be sent there
        self.display = display  # masks secrets in a URL shown in a message

    def _shown(self, token: str) -> str:
        return self.display(token)

    def next(self, page: Page, ctx: ReadContext) -> PageRequest | None:
        if self.cfg.next_path:
            link = self._token(page, self.cfg.next_path, ctx)
        else:
            link = page.response.links.get("next", {}).get("url") or None
            if link is not None:
                if link in self.seen:
                    raise ConnectorError(
                        f"pagination loop: the Link header points to {self.display(link)} again",
                        where=page.request.where,
                    )
                self.seen.add(link)
        if link is None or page.count == 0:
            return None
        url = str(page.response.url.join(link))
        self.follow(url, page.request.where)
        return PageRequest(page.request.number + 1, url, None)


def make_pager(
    pagination: Pagination | None,
    path: str,
    params: dict[str, Any],
    *,
    follow: Callable[[str, str], None],
    display: Callable[[str], str],
) -> Pager:
    if pagination is None:
        return SinglePager(path, params)
    if isinstance(pagination, PagePagination):
        return PagePager(pagination, path, params)
    if isinstance(pagination, OffsetPagination):
        return OffsetPager(pagination, path, params)
    if isinstance(pagination, CursorPagination):
        return CursorPager(pagination, path, params)
    return NextLinkPager(pagination, path, params, follow=follow, display=display)


__all__ = ["Page", "PageRequest", "Pager", "make_pager"]
