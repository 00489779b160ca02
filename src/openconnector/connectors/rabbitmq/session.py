"""One connection to RabbitMQ: a consuming channel whose deliveries wait in a local buffer, and a
publisher-confirm channel for dead letters and ``write()``.

Deliveries are taken with aiormq's raw consumer callback (aio-pika's message objects cost about as
much again per message as the whole AMQP frame parsing), or, after :meth:`Session.start_relay`, by a
child process that owns the consuming channel (:mod:`~openconnector.connectors.rabbitmq.relay`);
either way they wait in :attr:`Session.buffer`. A batch is acknowledged with one
``basic.ack(multiple)`` up to its last delivery tag: batches are cut in delivery order, so every
earlier tag belongs to an already settled batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aio_pika.abc
import aiormq
import aiormq.exceptions as amqp
from aiormq.abc import DeliveredMessage

from openconnector.connectors.auth import BasicAuth
from openconnector.connectors.base import ConnectorError
from openconnector.connectors.messages import DEAD_LETTER_HEADERS, MessageCounts, ssl_context
from openconnector.connectors.rabbitmq.config import RabbitRead, RabbitSource
from openconnector.connectors.rabbitmq.errors import channel_error, connect_error
from openconnector.connectors.rabbitmq.relay import Delivered, Relay, RelayedMessage

log = logging.getLogger("openconnector.connectors.rabbitmq")

#: where deliveries come from, and acks go: the channel in this process or the relay
Consuming = aiormq.abc.AbstractChannel | Relay


class Session:
    def __init__(self, name: str, source: RabbitSource, counts: MessageCounts) -> None:
        self.name = name
        self.source = source
        self.address = source.address
        self.counts = counts
        auth = source.auth
        self.user = auth.username if isinstance(auth, BasicAuth) else "guest"
        self._password = auth.password.get_secret_value() if isinstance(auth, BasicAuth) else "guest"
        self.connection: aio_pika.abc.AbstractConnection | None = None
        self.raw: aiormq.abc.AbstractChannel | None = None
        self._publish: aio_pika.abc.AbstractChannel | None = None
        # Concurrent publishers must share one channel: two channels would let the broker
        # interleave their messages and a queue would no longer hold records in write order.
        self._publish_lock = asyncio.Lock()
        self.relay: Relay | None = None
        self.buffer: deque[Delivered] = deque()
        self.arrived = asyncio.Event()
        self._wake_at = 1
        self.lost: ConnectorError | None = None
        self.queue: str | None = None
        self.prefetch = 0
        self.consumer_tag: str | None = None
        self.paused = False

    # -- connection ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed and self.lost is None

    @property
    def consuming(self) -> Consuming | None:
        """The channel deliveries come on (a batch keeps it: an ack goes back the same way)."""
        return self.relay if self.relay is not None else self.raw

    async def start_relay(self) -> None:
        """Consume through a child process from now on (before the first :meth:`subscribe`)."""
        if self.relay is None:
            self.relay = await Relay.start(self.name, self.source, self._deliver_many, self._relay_lost)
            log.debug("consuming %s through reader process %d", self.queue, self.relay.pid)

    def _deliver_many(self, msgs: list[RelayedMessage]) -> None:
        self.buffer.extend(msgs)
        if len(self.buffer) >= self._wake_at:
            self.arrived.set()

    def _relay_lost(self, error: ConnectorError) -> None:
        if self.lost is None:
            self.lost = error
        self.arrived.set()

    async def connect(self) -> None:
        if self.connection is not None:
            return
        tls = self.source.tls_options
        try:
            connection = await asyncio.wait_for(
                aio_pika.connect(
                    host=self.address.host,
                    port=self.address.port,
                    login=self.user,
                    password=self._password,
                    virtualhost=self.address.vhost,
                    ssl=tls is not None,
                    ssl_context=ssl_context(tls) if tls is not None else None,
                    timeout=self.source.connect_timeout,
                    client_properties={"connection_name": f"openconnector {self.name}"},
                    heartbeat=self.source.heartbeat,
                ),
                self.source.connect_timeout + 1,
            )
        except ConnectorError:
            raise
        except Exception as exc:
            raise connect_error(exc, self.address, self.user) from None
        self.connection = connection
        connection.close_callbacks.add(self._on_close)
        channel = await connection.channel(publisher_confirms=False)
        self.raw = await channel.get_underlay_channel()
        self.raw.on_consumer_cancel_callbacks.add(self._on_cancelled)
        log.debug("connected to %s vhost %s as %s", self.address, self.address.vhost, self.user)

    def _on_close(self, _sender: Any, exc: BaseException | None = None) -> None:
        if self.lost is None:
            why = f": {exc}" if exc is not None and str(exc) else ""
            self.lost = ConnectorError(
                f"connection to RabbitMQ at {self.address} lost{why}; unacknowledged messages go back "
                "to the queue",
                retryable=True,
            )
        self.arrived.set()

    def _on_cancelled(self, frame: Any) -> None:
        """The broker cancelled our consumer (the queue was deleted, or its node went down)."""
        if frame.consumer_tag == self.consumer_tag and self.lost is None:
            self.lost = ConnectorError(
                f"RabbitMQ cancelled the consumer of queue {self.queue!r} (was it deleted?)", retryable=True
            )
            self.arrived.set()

    def check(self) -> None:
        if self.lost is not None:
            raise self.lost
        if self.raw is None or self.raw.is_closed:
            raise ConnectorError(f"channel to RabbitMQ at {self.address} is closed", retryable=True)

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        relay, self.relay = self.relay, None
        self.raw = self._publish = None
        self.buffer.clear()
        if relay is not None:
            await relay.close()
        if connection is not None:
            connection.close_callbacks.discard(self._on_close)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    # -- queue ---------------------------------------------------------------------------------

    async def setup(self, read: RabbitRead) -> int:
        """Declare (or check) the queue; the number of messages ready in it now."""
        self.check()
        assert self.raw is not None
        queue = read.queue
        try:
            if read.declare:
                args: dict[str, Any] = {"x-queue-type": read.queue_type, **read.queue_arguments}
                ok = await self.raw.queue_declare(queue, durable=True, arguments=args)
                if read.exchange:
                    await self.raw.exchange_declare(
                        read.exchange, exchange_type=read.exchange_type, durable=True
                    )
                    for key in read.binding_keys:
                        await self.raw.queue_bind(queue, read.exchange, routing_key=key)
                if read.dead_letter_exchange == "":
                    await self.raw.queue_declare(
                        read.dead_letter_key, durable=True, arguments={"x-queue-type": read.queue_type}
                    )
            else:
                ok = await self.raw.queue_declare(queue, passive=True)
        except amqp.AMQPChannelError as exc:
            raise channel_error(exc, queue, self.address.vhost) from None
        self.queue = queue
        if self.prefetch != read.prefetch_count:
            await self.raw.basic_qos(prefetch_count=read.prefetch_count)
            self.prefetch = read.prefetch_count
        return int(ok.message_count or 0)

    async def ready_count(self) -> int:
        self.check()
        assert self.raw is not None and self.queue is not None
        try:
            ok = await self.raw.queue_declare(self.queue, passive=True)
        except amqp.AMQPChannelError as exc:
            raise channel_error(exc, self.queue, self.address.vhost) from None
        return int(ok.message_count or 0)

    async def subscribe(self) -> None:
        if self.consumer_tag is not None:
            return
        self.check()
        assert self.raw is not None and self.queue is not None
        if self.relay is not None:
            self.consumer_tag = await self.relay.consume(self.queue, self.prefetch)
            self.paused = False
            return
        try:
            ok = await self.raw.basic_consume(self.queue, self._deliver, no_ack=False)
        except amqp.AMQPChannelError as exc:
            raise channel_error(exc, self.queue, self.address.vhost) from None
        self.consumer_tag = ok.consumer_tag
        self.paused = False

    async def _deliver(self, msg: DeliveredMessage) -> None:
        buffer = self.buffer
        buffer.append(msg)
        if len(buffer) >= self._wake_at:
            self.arrived.set()

    async def cancel(self) -> None:
        """No new deliveries. Deliveries sent before the cancel-ok are in the buffer when this returns:
        their callbacks were scheduled before the reply that resumes us."""
        tag, self.consumer_tag = self.consumer_tag, None
        self.paused = True
        relay = self.relay
        if tag is not None and relay is not None and not relay.is_closed:
            with contextlib.suppress(ConnectorError, asyncio.TimeoutError):
                await asyncio.wait_for(relay.cancel(), 10)
        elif tag is not None and self.raw is not None and not self.raw.is_closed:
            with contextlib.suppress(amqp.AMQPError, ConnectionError, asyncio.TimeoutError):
                await asyncio.wait_for(self.raw.basic_cancel(tag), 10)
        self.arrived.set()

    async def gather(
        self, want: int, batch_wait: float, idle: float | None, stop: asyncio.Event | None
    ) -> None:
        """Return when ``want`` messages wait; or some wait and ``batch_wait`` has passed since the
        first of them; or ``stop`` is set; or the consumer is paused; or, with ``idle``, nothing came
        for that long. Raises :class:`ConnectorError` when the connection is lost."""
        loop = asyncio.get_running_loop()
        fill_by: float | None = None
        idle_by = loop.time() + idle if idle is not None else None
        while True:
            self.check()
            n = len(self.buffer)
            if n >= want or self.paused or (stop is not None and stop.is_set()):
                return
            now = loop.time()
            if n:
                if fill_by is None:
                    fill_by = now + batch_wait
                timeout: float | None = fill_by - now
                self._wake_at = want
            else:
                timeout = None if idle_by is None else idle_by - now
                self._wake_at = 1
            if timeout is not None and timeout <= 0:
                return
            self.arrived.clear()
            await _wait_either(self.arrived, stop, timeout)

    def take(self, n: int) -> list[Delivered]:
        buffer = self.buffer
        if len(buffer) <= n:
            out = list(buffer)
            buffer.clear()
            return out
        return [buffer.popleft() for _ in range(n)]

    # -- settling ------------------------------------------------------------------------------

    async def ack(self, channel: Any, last_tag: int) -> None:
        if channel is not self.consuming or channel is None or channel.is_closed:
            why = f" ({self.lost})" if self.lost is not None else ""
            raise ConnectorError(
                f"the batch was committed but the connection it came on is gone{why}, so it could not "
                "be acknowledged; RabbitMQ delivers it again and it is recognised as unchanged",
                retryable=True,
            )
        try:
            await channel.basic_ack(last_tag, multiple=True)
        except (amqp.AMQPError, ConnectionError) as exc:
            raise ConnectorError(
                f"could not acknowledge a committed batch ({exc}); it is delivered again and recognised "
                "as unchanged",
                retryable=True,
            ) from None

    async def ack_one(self, channel: Any, tag: int) -> None:
        if channel is self.consuming and channel is not None and not channel.is_closed:
            await channel.basic_ack(tag)

    async def requeue_all(self) -> int:
        """Give back everything unacknowledged, in queue order, and take nothing new until
        :meth:`subscribe` is called again."""
        await self.cancel()
        n = len(self.buffer)
        self.buffer.clear()
        channel = self.consuming
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(amqp.AMQPError, ConnectionError):
                await channel.basic_nack(0, multiple=True, requeue=True)
        return n

    # -- publishing ----------------------------------------------------------------------------

    async def publisher(self) -> aio_pika.abc.AbstractChannel:
        self.check()
        assert self.connection is not None
        async with self._publish_lock:
            if self._publish is None or self._publish.is_closed:
                self._publish = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
            return self._publish

    async def publish(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        """Publish and wait for the broker's confirm; unroutable (``mandatory``) raises."""
        channel = await self.publisher()
        try:
            target = (
                channel.default_exchange
                if exchange == ""
                else await channel.get_exchange(exchange, ensure=False)
            )
            await target.publish(message, routing_key=routing_key, mandatory=True)
        except aio_pika.exceptions.DeliveryError:
            raise ConnectorError(
                f"exchange {exchange or '(default)'!r} could not route the message with routing key "
                f"{routing_key!r}: no queue is bound for it"
            ) from None
        except amqp.AMQPChannelError as exc:
            self._publish = None
            raise ConnectorError(f"publishing to exchange {exchange or '(default)'!r}: {exc}") from None

    async def dead_letter(
        self, read: RabbitRead, msg: Delivered, reason: str, deliveries: int, pipeline: str
    ) -> bool:
        """Copy ``msg`` to the dead-letter exchange with why; False (and logged) if that failed, in
        which case the message must stay in its queue."""
        props = msg.header.properties
        headers = dict(props.headers or {})
        headers.pop("x-delivery-count", None)
        headers.update(
            {
                DEAD_LETTER_HEADERS["reason"]: reason[:1000],
                DEAD_LETTER_HEADERS["deliveries"]: deliveries,
                DEAD_LETTER_HEADERS["source"]: f"{self.name} queue {read.queue}",
                DEAD_LETTER_HEADERS["pipeline"]: pipeline,
                DEAD_LETTER_HEADERS["failed_at"]: datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        message = aio_pika.Message(
            msg.body,
            headers=headers,
            content_type=props.content_type,
            content_encoding=props.content_encoding,
            message_id=props.message_id,
            correlation_id=props.correlation_id,
            timestamp=props.timestamp,
            type=props.message_type,
            app_id=props.app_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await self.publish(read.dead_letter_exchange, read.dead_letter_key, message)
        except ConnectorError as exc:
            log.error(
                "could not dead-letter a message of queue %s (it stays in the queue): %s", read.queue, exc
            )
            return False
        self.counts.dead_lettered += 1
        return True


async def _wait_either(event: asyncio.Event, other: asyncio.Event | None, timeout: float | None) -> None:
    if other is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return
    waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(other.wait())}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
