"""Auth blocks shared by every source: one discriminated union, keyed by ``type``.

Secrets are ``SecretStr`` so they never print in reprs, logs, errors or API responses.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _AuthBase(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NoAuth(_AuthBase):
    type: Literal["none"] = "none"


class BasicAuth(_AuthBase):
    """Username and password: HTTP basic, database, FTP, SFTP, SMTP/IMAP, RabbitMQ login."""

    type: Literal["basic"] = "basic"
    username: str
    password: SecretStr = SecretStr("")


class BearerAuth(_AuthBase):
    type: Literal["bearer"] = "bearer"
    token: SecretStr


class ApiKeyAuth(_AuthBase):
    type: Literal["api_key"] = "api_key"
    name: str = Field("X-API-Key", description="Header or query parameter name.")
    value: SecretStr
    in_: Literal["header", "query"] = Field("header", alias="in")
    prefix: str | None = Field(None, description="Written before the key, e.g. 'ApiKey'.")


class OAuth2Auth(_AuthBase):
    """OAuth2 client credentials; the token is cached and refreshed before it expires."""

    type: Literal["oauth2"] = "oauth2"
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None
    audience: str | None = None


class MTLSAuth(_AuthBase):
    """Client certificate (PEM) with optional key and CA bundle."""

    type: Literal["mtls"] = "mtls"
    cert: str
    key: str | None = None
    ca: str | None = None
    password: SecretStr | None = None


class SSHKeyAuth(_AuthBase):
    """Private-key login (SFTP)."""

    type: Literal["ssh_key"] = "ssh_key"
    username: str
    private_key: str = Field(description="Path to the private key file.")
    passphrase: SecretStr | None = None


class SASLAuth(_AuthBase):
    """Kafka SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)."""

    type: Literal["sasl"] = "sasl"
    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    username: str
    password: SecretStr


Auth = Annotated[
    NoAuth | BasicAuth | BearerAuth | ApiKeyAuth | OAuth2Auth | MTLSAuth | SSHKeyAuth | SASLAuth,
    Field(discriminator="type"),
]

AUTH_TYPES = ("none", "basic", "bearer", "api_key", "oauth2", "mtls", "ssh_key", "sasl")
