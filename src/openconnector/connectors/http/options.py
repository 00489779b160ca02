"""Source options every HTTP-based protocol shares (rest, soap, graphql).

A protocol's ``Source`` model inherits :class:`HttpSourceBase`, so retries, rate limits, TLS and
proxies are configured with the same keys whatever the protocol.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from openconnector.connectors.base import SourceBase

HTTP_AUTH_TYPES = ("none", "basic", "bearer", "api_key", "oauth2", "mtls")
DEFAULT_RETRY_ON = (408, 429, 500, 502, 503, 504)


class HttpSourceBase(SourceBase):
    """``location`` is the base URL; request paths are resolved against it."""

    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers sent with every request. Put secrets in `auth`, not here.",
    )
    timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for connect, each read and each write."
    )
    connect_timeout: float | None = Field(
        default=None, gt=0, description="Seconds to wait for a connection (default: timeout)."
    )
    retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Extra attempts after a failed one (connect errors, timeouts, retry_on).",
    )
    backoff: float = Field(
        default=0.5, ge=0, description="First retry delay in seconds; doubles per attempt, with jitter."
    )
    backoff_max: float = Field(default=30.0, ge=0, description="Upper bound of one backoff delay in seconds.")
    retry_on: list[int] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_ON), description="HTTP statuses that are retried."
    )
    retry_after_max: float = Field(
        default=120.0,
        ge=0,
        description="Longest `Retry-After` honoured, in seconds; longer waits are cut to this.",
    )
    rate_limit: float | None = Field(default=None, gt=0, description="At most this many requests per second.")
    rate_limit_burst: int = Field(
        default=1, ge=1, description="Requests that may go out at once before the rate applies."
    )
    verify: bool | str = Field(
        default=True, description="Verify TLS certificates: true, false, or a CA bundle (PEM) path."
    )
    proxy: str | None = Field(default=None, description="Proxy URL, e.g. http://proxy:3128.")
    follow_redirects: bool = True

    @field_validator("location")
    @classmethod
    def _http_location(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("retry_on")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        bad = [s for s in value if not 400 <= s <= 599]
        if bad:
            raise ValueError(f"retry_on holds HTTP error statuses (400-599), not {bad}")
        return value

    @model_validator(mode="after")
    def _http_auth(self) -> HttpSourceBase:
        if self.auth.type not in HTTP_AUTH_TYPES:
            kinds = ", ".join(HTTP_AUTH_TYPES)
            raise ValueError(
                f"auth type {self.auth.type!r} does not apply to HTTP sources; use one of {kinds}"
            )
        return self


__all__ = ["DEFAULT_RETRY_ON", "HTTP_AUTH_TYPES", "HttpSourceBase"]
