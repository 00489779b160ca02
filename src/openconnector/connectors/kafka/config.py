"""The ``sources.<name>`` block, the pipeline ``read`` block and the ``write`` target of Kafka."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from openconnector.connectors.auth import NoAuth, SASLAuth
from openconnector.connectors.base import SourceBase, StrictModel
from openconnector.connectors.messages import MessageRead, TLSOptions

_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$")


def bootstrap_servers(location: str) -> list[str]:
    """``kafka://a:9092,b:9092`` or ``a:9092,b:9092`` → ``["a:9092", "b:9092"]``."""
    text = location.strip()
    for prefix in ("kafka://", "kafkas://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    servers = [s.strip().rstrip("/") for s in text.split(",") if s.strip()]
    if not servers:
        raise ValueError("location needs at least one broker as host:port (e.g. kafka.example.org:9092)")
    for s in servers:
        if not _HOST_PORT.match(s):
            raise ValueError(f"broker {s!r} in location is not host:port")
    return servers


class KafkaSource(SourceBase):
    """A Kafka cluster (any Kafka-protocol broker)."""

    type: Literal["kafka"]
    location: str = Field(description="Bootstrap brokers: host:port[,host:port...] (kafkas:// for TLS).")
    tls: TLSOptions | bool | None = Field(default=None, description="TLS options; true = system CAs.")
    client_id: str = Field(default="openconnector", description="Client id the brokers log and quota by.")
    request_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per broker request.")

    @model_validator(mode="after")
    def _check(self) -> KafkaSource:
        bootstrap_servers(self.location)
        if not isinstance(self.auth, (NoAuth, SASLAuth)):
            raise ValueError(
                f"auth type {self.auth.type!r} is not supported by kafka; use sasl "
                "(client certificates go in tls: {cert, key})"
            )
        return self

    @property
    def servers(self) -> list[str]:
        return bootstrap_servers(self.location)

    @property
    def tls_options(self) -> TLSOptions | None:
        if isinstance(self.tls, TLSOptions):
            return self.tls
        if self.tls or self.location.strip().startswith("kafkas://"):
            return TLSOptions()
        return None


class KafkaRead(MessageRead):
    """What to consume: topics (or a pattern) in a consumer group. See docs/connectors/kafka.md."""

    topics: list[str] | None = Field(
        default=None,
        validation_alias=AliasChoices("topics", "topic", "path"),
        description="Topic name(s).",
    )
    pattern: str | None = Field(default=None, description="Regular expression of topic names (instead).")
    group: str | None = Field(
        default=None, max_length=255, description="Consumer group id (default: openconnector.<pipeline>)."
    )
    start: Literal["earliest", "latest"] = Field(
        default="earliest", description="Where a group without committed offsets starts."
    )
    session_timeout: float = Field(
        default=10.0, ge=1, le=300, description="Seconds without heartbeat before the group moves partitions."
    )
    dead_letter_topic: str | None = Field(
        default=None, description="Topic for messages that cannot be decoded (with on_undecodable)."
    )

    @field_validator("topics", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> KafkaRead:
        if bool(self.topics) == (self.pattern is not None):
            raise ValueError("give exactly one of read.topics (or read.topic) and read.pattern")
        if self.on_undecodable == "dead_letter" and not self.dead_letter_topic:
            raise ValueError("on_undecodable: dead_letter needs read.dead_letter_topic")
        return self

    def group_id(self, pipeline: str) -> str:
        return self.group or f"openconnector.{pipeline}"


class KafkaTarget(StrictModel):
    """Where :meth:`write` produces: one JSON message per record."""

    topic: str = Field(min_length=1)
    key: str | None = Field(default=None, description="Dot-path of the message key in each record.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers every message carries.")
    partition: int | None = Field(default=None, ge=0, description="Fixed partition (default: by key).")
