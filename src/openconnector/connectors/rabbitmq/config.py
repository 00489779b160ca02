"""The ``sources.<name>`` block, the pipeline ``read`` block and the ``write`` target of RabbitMQ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, ConfigDict, Field, SecretStr, model_validator

from openconnector.connectors.auth import BasicAuth, NoAuth
from openconnector.connectors.base import Reader, SourceBase, StrictModel
from openconnector.connectors.messages import MessageRead, TLSOptions

MAX_PREFETCH = 65535  # AMQP prefetch-count is an unsigned short


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    vhost: str
    tls: bool

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_location(location: str) -> tuple[Address, str | None, str | None]:
    """``amqp[s]://[user[:password]@]host[:port][/vhost]`` → address, user, password.

    The vhost is the path without its leading slash, URL-decoded (``/%2F`` is the vhost ``/``);
    an empty path is the default vhost ``/``.
    """
    parts = urlsplit(location if "://" in location else f"amqp://{location}")
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"location must start with amqp:// or amqps://, not {parts.scheme}://")
    if not parts.hostname:
        raise ValueError("location has no host (e.g. amqp://rabbitmq.example.org:5672/)")
    tls = parts.scheme == "amqps"
    try:
        port = parts.port or (5671 if tls else 5672)
    except ValueError:
        raise ValueError("location has an invalid port") from None
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Address(parts.hostname, port, vhost, tls), user, password


class RabbitSource(SourceBase):
    """A RabbitMQ broker (one virtual host)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)

    type: Literal["rabbitmq"]
    location: str = Field(
        "amqp://127.0.0.1:5672/",
        description="amqp://host:port/vhost (amqps:// for TLS); credentials go in auth.",
    )
    tls: TLSOptions | bool | None = Field(
        None, description="TLS options (amqps:// turns TLS on with the system CAs)."
    )
    heartbeat: int = Field(60, ge=0, le=3600, description="Seconds between heartbeats (0: none).")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for the connection.")

    @model_validator(mode="after")
    def _normalise(self) -> RabbitSource:
        _, user, password = parse_location(self.location)
        if not isinstance(self.auth, (NoAuth, BasicAuth)):
            raise ValueError(f"auth type {self.auth.type!r} is not supported by rabbitmq; use basic")
        if user is not None or password is not None:
            # keep the secret in a SecretStr, never in the location string
            parts = urlsplit(self.location)
            self.location = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
            if isinstance(self.auth, NoAuth):
                self.auth = BasicAuth(username=user or "guest", password=SecretStr(password or ""))
        return self

    @property
    def address(self) -> Address:
        return parse_location(self.location)[0]

    @property
    def tls_options(self) -> TLSOptions | None:
        if isinstance(self.tls, TLSOptions):
            return self.tls
        if self.tls or self.address.tls:
            return TLSOptions()
        return None


class RabbitRead(MessageRead):
    """What to consume: a queue (optionally declared and bound), how many at a time, where dead
    letters go. See docs/connectors/rabbitmq.md."""

    queue: str = Field(
        validation_alias=AliasChoices("queue", "path"),
        min_length=1,
        max_length=255,
        description="Queue name.",
    )
    declare: bool = Field(False, description="Declare the queue (durable), its exchange and bindings.")
    queue_type: Literal["quorum", "classic"] = Field(
        "quorum", description="With declare: the queue type (quorum counts deliveries across restarts)."
    )
    queue_arguments: dict[str, Any] = Field(
        default_factory=dict, description="With declare: extra x-arguments (x-max-length, ...)."
    )
    exchange: str | None = Field(None, description="With declare: an exchange to bind the queue to.")
    exchange_type: Literal["direct", "fanout", "topic", "headers"] = "topic"
    binding_keys: list[str] = Field(default_factory=lambda: ["#"], description="Routing keys to bind.")
    prefetch: int | None = Field(
        None, ge=1, le=MAX_PREFETCH, description="Unacknowledged messages in flight (default 2 x batch_size)."
    )
    max_deliveries: int = Field(
        10, ge=1, le=1000, description="After this many failed deliveries a message is dead-lettered."
    )
    dead_letter_exchange: str = Field(
        "", description="Exchange for dead letters ('' = the default exchange, i.e. straight to a queue)."
    )
    dead_letter_routing_key: str | None = Field(
        None, description="Routing key of dead letters (default: '<queue>.dead')."
    )
    reader: Reader = Field(
        "auto",
        description="Where deliveries are taken and parsed: in this process, or in a child process "
        "beside it (auto: a child process when 10,000 or more messages are ready at the start).",
    )

    @model_validator(mode="after")
    def _check(self) -> RabbitRead:
        if self.exchange is not None and not self.declare:
            raise ValueError("read.exchange binds the queue, which needs read.declare: true")
        if self.exchange == "":
            raise ValueError("read.exchange cannot be the default exchange ''; every queue is bound to it")
        return self

    @property
    def prefetch_count(self) -> int:
        return self.prefetch or min(MAX_PREFETCH, 2 * self.batch_size)

    @property
    def dead_letter_key(self) -> str:
        return self.dead_letter_routing_key or f"{self.queue}.dead"


class RabbitTarget(StrictModel):
    """Where :meth:`write` publishes: one JSON message per record."""

    exchange: str = Field("", description="Exchange ('' = the default exchange: routing_key is a queue).")
    routing_key: str | None = Field(None, description="Routing key; default: the record's key (below).")
    key: str | None = Field(None, description="Dot-path of the message key (message_id; routing key).")
    headers: dict[str, str | int | float | bool] = Field(default_factory=dict)
    persistent: bool = True

    @model_validator(mode="after")
    def _check(self) -> RabbitTarget:
        if self.routing_key is None and self.key is None:
            raise ValueError("give routing_key, or key (its value is then the routing key)")
        return self
