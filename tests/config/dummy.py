"""A small connector registered only for these tests: it gives the loader a ``Source`` and a ``Read``
model shaped like the REST connector's (path, query, a ``pagination`` union keyed by ``type``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from pydantic import Field, field_validator

from openconnector.connectors import Batch, Connector, ReadBase, ReadContext, SourceBase, register
from openconnector.connectors.base import StrictModel


class PagePagination(StrictModel):
    type: Literal["page"]
    param: str = "page"
    size_param: str | None = None
    size: int | None = Field(None, ge=1)
    start: int = 1


class OffsetPagination(StrictModel):
    type: Literal["offset"]
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, ge=1)


class CursorPagination(StrictModel):
    type: Literal["cursor"]
    param: str = "cursor"
    cursor_path: str


class NextLinkPagination(StrictModel):
    type: Literal["next_link"]
    next_path: str | None = None


Pagination = Annotated[
    PagePagination | OffsetPagination | CursorPagination | NextLinkPagination, Field(discriminator="type")
]


class DummySource(SourceBase):
    timeout: float = Field(30.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("location")
    @classmethod
    def _no_ftp(cls, value: str) -> str:
        # quotes its input on purpose: the loader must blank out values that came from ${VAR}
        if value.startswith("ftp:"):
            raise ValueError(f"must be an http URL, got {value!r}")
        return value


class DummyRead(ReadBase):
    path: str = "/"
    query: dict[str, str | int] = Field(default_factory=dict)
    pagination: Pagination | None = None
    max_pages: int | None = Field(None, ge=1)


@register
class DummyConnector(Connector):
    type = "cfgtest"
    Source = DummySource
    Read = DummyRead

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        yield Batch(records=[])
