"""The ``graphql`` source block and its pipelines' ``read`` block."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from openconnector.connectors.base import ReadBase, StrictModel
from openconnector.connectors.http import HttpSourceBase
from openconnector.connectors.http.templating import check_names
from openconnector.connectors.rest.options import CursorPagination, OffsetPagination, PagePagination


class GraphQLSource(HttpSourceBase):
    """A GraphQL endpoint: ``location`` is the URL queries are posted to."""

    type: Literal["graphql"] = "graphql"

    @model_validator(mode="after")
    def _endpoint(self) -> GraphQLSource:
        if not self.location:
            raise ValueError("location is required: the URL of the GraphQL endpoint")
        return self


class RelayPagination(StrictModel):
    """Relay connections: ``first``/``after`` variables, ``pageInfo { hasNextPage endCursor }``."""

    type: Literal["relay"] = "relay"
    connection: str = Field(
        description="Dot-path of the connection under `data`, e.g. people or org.members."
    )
    param: str = Field(default="after", description="Variable that takes the previous page's endCursor.")
    size_param: str | None = Field(default="first", description="Variable that takes the page size.")
    size: int | None = Field(
        default=None, ge=1, description="Page size sent as size_param (default: the query's)."
    )


GraphQLPagination = Annotated[
    RelayPagination | PagePagination | OffsetPagination | CursorPagination,
    Field(discriminator="type"),
]


def pagination_variables(pagination: Any) -> list[str]:
    """The variables a pagination sets (and templates may read), named by its ``param`` keys."""
    if isinstance(pagination, (RelayPagination, PagePagination)):
        return [pagination.param, *([pagination.size_param] if pagination.size_param else [])]
    if isinstance(pagination, OffsetPagination):
        return [pagination.param, pagination.limit_param]
    if isinstance(pagination, CursorPagination):
        return [pagination.param]
    return []


class GraphQLRead(ReadBase):
    """What to read from a GraphQL source: one query, sent once per page with the page's variables.

    ``records`` is a dot-path under the response's ``data``. ``query`` is the query text, or
    ``@path/to/query.graphql``: a file, relative to the config file's folder when the config loader
    says where that is, otherwise to the working directory.
    """

    query: str = Field(description="The query, or @file.graphql.")
    operation_name: str | None = Field(
        default=None, description="Which operation of the document to run (when it holds several)."
    )
    variables: dict[str, Any] = Field(
        default_factory=dict, description="Query variables; strings may be templates ({{ cursor }})."
    )
    pagination: GraphQLPagination | None = None
    max_pages: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many pages; the run is then partial (nothing is deleted).",
    )
    _document: str = PrivateAttr(default="")

    @property
    def document(self) -> str:
        """The query text (read from the file when ``query`` names one)."""
        return self._document or self.query

    @property
    def records_path(self) -> str:
        """Where the records are under ``data``: ``records``, or the relay connection's edges."""
        if self.records:
            return self.records
        assert isinstance(self.pagination, RelayPagination)
        return f"{self.pagination.connection}.edges"

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> GraphQLRead:
        if self.query.startswith("@"):
            self._document = _read_query_file(self.query[1:], info)
        if not self.document.strip():
            raise ValueError("query is empty")
        if not self.records and not isinstance(self.pagination, RelayPagination):
            raise ValueError(
                "set records: the dot-path of the record list under `data` (e.g. people or org.members)"
            )
        paging = pagination_variables(self.pagination)
        if "cursor" in paging and self.incremental is not None:
            raise ValueError(
                "the pagination variable and the incremental cursor are both called 'cursor': "
                "give the pagination another param"
            )
        check_names(self.variables, ["cursor", *paging])
        return self


def _read_query_file(name: str, info: ValidationInfo) -> str:
    base = (info.context or {}).get("base_dir") if isinstance(info.context, dict) else None
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = Path(base or Path.cwd()) / path
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"query file not found: {name} (looked for {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"query file {name} cannot be read: {exc}") from None


__all__ = ["GraphQLPagination", "GraphQLRead", "GraphQLSource", "RelayPagination", "pagination_variables"]
