"""The ``soap`` source block and its pipelines' ``read`` block."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from openconnector.connectors.base import ReadBase, StrictModel
from openconnector.connectors.http import HttpSourceBase
from openconnector.connectors.http.templating import check_names, template_names
from openconnector.connectors.rest.options import CursorPagination, OffsetPagination, PagePagination


class WsSecurity(StrictModel):
    """WS-Security UsernameToken, sent in the SOAP header of every request (next to any HTTP ``auth``)."""

    username: str
    password: SecretStr
    digest: bool = Field(
        default=False,
        description="Send PasswordDigest (SHA-1 of nonce, created and password) instead of the password.",
    )


class SoapSource(HttpSourceBase):
    """A SOAP service described by a WSDL.

    ``location`` is the endpoint requests are posted to; without it, the address in the WSDL is used.
    """

    type: Literal["soap"] = "soap"
    wsdl: str | None = Field(
        default=None,
        description="URL or local file of the WSDL (default: `location` + `?wsdl`). Loaded once per process.",
    )
    service: str | None = Field(default=None, description="WSDL service to use (default: the first).")
    port: str | None = Field(default=None, description="Port of that service (default: its first).")
    ws_security: WsSecurity | None = Field(default=None, description="WS-Security UsernameToken.")
    strict: bool = Field(
        default=True,
        description="Reject responses that do not match the WSDL's schema; false lets zeep recover.",
    )

    @model_validator(mode="after")
    def _wsdl_or_location(self, info: ValidationInfo) -> SoapSource:
        if not self.wsdl and not self.location:
            raise ValueError("set `wsdl` (a URL or a file) or `location` (then the WSDL is location?wsdl)")
        base = info.context.get("base_dir") if isinstance(info.context, dict) else None
        if self.wsdl and base and "://" not in self.wsdl and not Path(self.wsdl).expanduser().is_absolute():
            self.wsdl = str(Path(base) / self.wsdl)  # next to the config file, when the loader says where
        return self

    @property
    def wsdl_location(self) -> str:
        return self.wsdl or f"{self.location}?wsdl"


SoapPagination = Annotated[
    PagePagination | OffsetPagination | CursorPagination,
    Field(discriminator="type"),
]

#: names every template in ``read.arguments`` may use, next to the pagination's own
BASE_VARIABLES = ("cursor",)


def pagination_variables(
    pagination: PagePagination | OffsetPagination | CursorPagination | None,
) -> list[str]:
    """The template variables a pagination provides (named by its ``param`` keys)."""
    if isinstance(pagination, PagePagination):
        return [pagination.param, *([pagination.size_param] if pagination.size_param else [])]
    if isinstance(pagination, OffsetPagination):
        return [pagination.param, pagination.limit_param]
    if isinstance(pagination, CursorPagination):
        return [pagination.param]
    return []


class SoapRead(ReadBase):
    """What to read from a SOAP source: one operation, called once per page."""

    operation: str = Field(description="Name of the WSDL operation to call, e.g. GetPeople.")
    arguments: dict[str, Any] = Field(
        default_factory=dict,
        description="The operation's arguments; strings may be templates ({{ page }}, {{ cursor }}).",
    )
    pagination: SoapPagination | None = None
    max_pages: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many pages; the run is then partial (nothing is deleted).",
    )

    @field_validator("operation")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a WSDL operation")
        return value.strip()

    @model_validator(mode="after")
    def _templates(self) -> SoapRead:
        paging = pagination_variables(self.pagination)
        if "cursor" in paging and self.incremental is not None:
            raise ValueError(
                "the pagination token and the incremental cursor are both called 'cursor': "
                "give the pagination another param (e.g. param: token)"
            )
        check_names(self.arguments, [*BASE_VARIABLES, *paging])
        if self.pagination is not None:
            used = template_names(self.arguments)
            if self.pagination.param not in used:
                raise ValueError(
                    f"pagination is set but no argument uses {{{{ {self.pagination.param} }}}}: every page "
                    f"would be the same request (e.g. arguments: {{{self.pagination.param}: "
                    f'"{{{{ {self.pagination.param} }}}}"}})'
                )
        return self


__all__ = ["BASE_VARIABLES", "SoapPagination", "SoapRead", "SoapSource", "WsSecurity", "pagination_variables"]
