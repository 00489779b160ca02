"""The ``rest`` source block and its pipelines' ``read`` block."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from openconnector.connectors.base import ReadBase, StrictModel
from openconnector.connectors.http import HttpSourceBase

QueryValue = str | int | float | bool | list[str | int | float | bool]


class RestSource(HttpSourceBase):
    """A REST API: ``location`` is the base URL that every ``read.path`` is appended to."""

    type: Literal["rest"] = "rest"


class PagePagination(StrictModel):
    """``?page=1``, ``?page=2``, … until an empty (or short) page."""

    type: Literal["page"] = "page"
    param: str = "page"
    size_param: str | None = Field(
        default=None, description="Query parameter for the page size, e.g. per_page."
    )
    size: int | None = Field(default=None, ge=1, description="Page size to ask for (sent as size_param).")
    start: int = Field(default=1, description="Number of the first page.")


class OffsetPagination(StrictModel):
    """``?offset=0&limit=100``, ``?offset=100&limit=100``, … (offset advances by records received)."""

    type: Literal["offset"] = "offset"
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, ge=1)
    start: int = Field(default=0, ge=0)


class CursorPagination(StrictModel):
    """A token from each response body, sent back as ``param`` until the body has none."""

    type: Literal["cursor"] = "cursor"
    param: str = "cursor"
    cursor_path: str = Field(description="Dot-path of the next-page token in the response body.")


class NextLinkPagination(StrictModel):
    """The URL of the next page: a body field (``next_path``) or, without it, the ``Link`` header."""

    type: Literal["next_link"] = "next_link"
    next_path: str | None = Field(default=None, description="Dot-path of the next page's URL in the body.")


Pagination = Annotated[
    PagePagination | OffsetPagination | CursorPagination | NextLinkPagination,
    Field(discriminator="type"),
]


class RestRead(ReadBase):
    """What to read from a REST source."""

    path: str = Field(default="", description="Appended to the source location, e.g. /people.")
    method: Literal["GET", "POST"] = "GET"
    body: Any = Field(default=None, description="JSON body of a POST read.")
    query: dict[str, QueryValue] = Field(default_factory=dict, description="Extra query parameters.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    pagination: Pagination | None = None
    max_pages: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many pages; the run is then partial (nothing is deleted).",
    )
    format: Literal["json", "xml", "auto"] = Field(
        default="auto", description="auto: by the response content type."
    )
    xml_lists: list[str] = Field(
        default_factory=list,
        description="XML element names that are always lists, even when they occur once.",
    )

    @model_validator(mode="after")
    def _body_needs_post(self) -> RestRead:
        if self.body is not None and self.method != "POST":
            raise ValueError("body is only sent with method: POST")
        return self


__all__ = [
    "CursorPagination",
    "NextLinkPagination",
    "OffsetPagination",
    "PagePagination",
    "Pagination",
    "RestRead",
    "RestSource",
]
