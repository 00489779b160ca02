"""aiormq's exceptions as messages a user can act on (which broker, which user, which queue; never
the password)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiormq.exceptions as amqp

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.rabbitmq.config import Address


def _text(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):  # (errno, message) from a failed connect
        return str(args[1])
    return str(args[0]) if args else type(exc).__name__


def connect_error(exc: BaseException, address: Address, user: str) -> ConnectorError:
    where = f"RabbitMQ at {address}"
    if isinstance(exc, amqp.ProbableAuthenticationError):
        return ConnectorError(
            f"{where} refused the login of user {user!r}: wrong username or password "
            f"(or the user may not use vhost {address.vhost!r})"
        )
    if isinstance(exc, amqp.AMQPConnectionError) and "ACCESS_REFUSED" in str(exc):
        return ConnectorError(f"{where} refused the login of user {user!r}: {_text(exc)}")
    if isinstance(exc, amqp.InvalidFrameError) and "Connection.Close" in str(exc):
        return ConnectorError(
            f"{where} closed the connection while opening vhost {address.vhost!r}: does the vhost exist, "
            f"and may user {user!r} use it?"
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return ConnectorError(f"no answer from {where} in time (is it a RabbitMQ port?)", retryable=True)
    text = _text(exc)
    if isinstance(exc, ssl.SSLError) or "SSL" in text:
        return ConnectorError(f"TLS with {where} failed: {text}")
    return ConnectorError(f"cannot connect to {where}: {text}", retryable=True)


def channel_error(exc: BaseException, queue: str, vhost: str) -> ConnectorError:
    if isinstance(exc, amqp.ChannelNotFoundEntity):
        return ConnectorError(
            f"queue {queue!r} does not exist in vhost {vhost!r} (create it, or set read.declare: true)"
        )
    if isinstance(exc, amqp.ChannelPreconditionFailed):
        return ConnectorError(
            f"queue {queue!r} exists with other settings than read.declare asks for ({_text(exc)}); "
            "match queue_type/queue_arguments to it, or set declare: false"
        )
    if isinstance(exc, amqp.ChannelAccessRefused):
        return ConnectorError(f"no permission for queue {queue!r}: {_text(exc)}")
    if isinstance(exc, amqp.ChannelLockedResource):
        return ConnectorError(f"queue {queue!r} is used exclusively by another connection")
    return ConnectorError(f"queue {queue!r}: {type(exc).__name__}: {_text(exc)}", retryable=True)
