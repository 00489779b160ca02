"""The ``sources.<name>`` and pipeline ``read`` blocks of the three database source types."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from openconnector.connectors.auth import BasicAuth, MTLSAuth, NoAuth
from openconnector.connectors.base import ReadBase, Reader, SourceBase
from openconnector.connectors.sql.location import parse_location, split_password

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
Decimals = Literal["string", "number"]

_TIMEZONE = re.compile(r"^[A-Za-z0-9_/+:.-]{1,64}$")
#: bind names the connector itself uses; read.params may not take them
RESERVED_PARAMS = frozenset({"cursor"})


class SqlSource(SourceBase):
    """A PostgreSQL, MySQL/MariaDB or MSSQL database."""

    # the location may carry a password until the validator below moves it: never echo input
    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)

    type: Literal["postgresql", "mysql", "mssql"]
    location: str = Field(
        description="A URL (postgresql://host:5432/db, driver optional) or host[:port]/database."
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a connection.")
    ssl: SslMode | None = Field(
        None,
        description="TLS: PostgreSQL sslmode names; MySQL supports disable, require, verify-ca, verify-full.",
    )
    ssl_ca: str | None = Field(None, description="CA bundle (PEM file) for verify-ca / verify-full.")
    schema_: str | None = Field(
        None, alias="schema", description="Default schema (MySQL: database) for an unqualified read.table."
    )
    timezone: str | None = Field(
        "UTC",
        description="Session time zone (PostgreSQL TimeZone, MySQL time_zone); null keeps the server's.",
    )
    decimals: Decimals = Field(
        "string", description="DECIMAL/NUMERIC/MONEY as exact strings, or as JSON numbers when exact."
    )
    connect_args: dict[str, Any] = Field(
        default_factory=dict, description="Extra keyword arguments for the driver's connect() (advanced)."
    )

    @field_validator("timezone")
    @classmethod
    def _plain_timezone(cls, value: str | None) -> str | None:
        if value is not None and not _TIMEZONE.match(value):
            raise ValueError("timezone must be a zone name such as UTC or Europe/Amsterdam, or an offset")
        return value

    @model_validator(mode="after")
    def _normalise(self) -> SqlSource:
        parse_location(self.type, self.location)  # raises ValueError with a message fit for users
        if not isinstance(self.auth, (NoAuth, BasicAuth, MTLSAuth)):
            raise ValueError(
                f"auth type {self.auth.type!r} is not supported by {self.type}; use basic or mtls"
            )
        if self.type == "mssql" and (self.ssl not in (None, "disable") or isinstance(self.auth, MTLSAuth)):
            raise ValueError("mssql: TLS is configured in FreeTDS (freetds.conf 'encryption'), not here")
        if self.type == "mysql" and self.ssl in ("allow", "prefer"):
            raise ValueError("mysql: ssl must be disable, require, verify-ca or verify-full")
        bare, user, password = split_password(self.type, self.location)
        if password is not None:
            # keep the secret in a SecretStr, never in the plain location string
            self.location = bare
            if isinstance(self.auth, BasicAuth):
                if not self.auth.password.get_secret_value():
                    self.auth = BasicAuth(username=self.auth.username, password=SecretStr(password))
            elif isinstance(self.auth, NoAuth):
                self.auth = BasicAuth(username=user or "", password=SecretStr(password))
        return self


class SqlRead(ReadBase):
    """What to read: a table (or view) or a query. See docs/connectors/postgresql.md."""

    table: str | None = Field(None, description="Table or view, optionally schema-qualified (sales.orders).")
    columns: list[str] | None = Field(None, description="Columns to read from table (default: all).")
    where: str | None = Field(
        None, description="SQL condition for table, from trusted config; values via :name and params."
    )
    query: str | None = Field(None, description="A SELECT with :name parameters (and :cursor, optional).")
    params: dict[str, Any] = Field(default_factory=dict, description="Values of the :name parameters.")
    order_by: list[str] | None = Field(None, description="Columns to order by, each optionally ' desc'.")
    json_columns: list[str] = Field(
        default_factory=list, description="Text columns holding JSON to decode (MySQL JSON is found itself)."
    )
    decimals: Decimals | None = Field(None, description="Overrides the source's decimals for this read.")
    reader: Reader = Field(
        "auto",
        description="Where rows are fetched and converted: a thread, or a child process (auto: a child "
        "process for a full read of a MySQL/MariaDB table of 100,000 estimated rows or more; PostgreSQL "
        "and MSSQL read in a thread).",
    )

    @field_validator("order_by", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> SqlRead:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of read.table or read.query")
        if self.query is not None and (self.columns is not None or self.where is not None):
            raise ValueError("read.columns and read.where go with read.table; put them in read.query instead")
        if self.records is not None:
            raise ValueError("read.records is not used by database sources (every row is a record)")
        reserved = RESERVED_PARAMS & set(self.params)
        if reserved:
            raise ValueError(f"read.params may not use the reserved name(s) {', '.join(sorted(reserved))}")
        for item in self.order_by or []:
            parse_order(item)
        return self

    @property
    def id_columns(self) -> list[str]:
        return [self.id] if isinstance(self.id, str) else list(self.id)


def parse_order(item: str) -> tuple[str, bool]:
    """``"name desc"`` → ``("name", True)``; the name is quoted later, never pasted into SQL."""
    parts = item.strip().rsplit(None, 1)
    if len(parts) == 2 and parts[1].lower() in ("asc", "desc"):
        return parts[0], parts[1].lower() == "desc"
    if not item.strip():
        raise ValueError("read.order_by has an empty entry")
    return item.strip(), False
