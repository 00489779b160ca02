"""The ``rest`` source type: JSON or XML over HTTP, paginated, on the shared HTTP transport."""

from openconnector.connectors.rest.connector import RestConnector
from openconnector.connectors.rest.options import (
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    PagePagination,
    Pagination,
    RestRead,
    RestSource,
)

__all__ = [
    "CursorPagination",
    "NextLinkPagination",
    "OffsetPagination",
    "PagePagination",
    "Pagination",
    "RestConnector",
    "RestRead",
    "RestSource",
]
