"""RabbitMQ source: consume a queue in batches, acknowledge a batch only after its outcome is committed.

- ``run``: takes the messages that are ready when it starts (and whatever is already in flight),
  stops taking, finishes what it was handed, returns. Nothing goes back unprocessed.
- ``consume`` (``ctx.follow``): keeps yielding batches until ``ctx.stop`` (end of a run window; the
  subscription and what is buffered stay for the next run) or :meth:`pause` (shutdown: stop taking,
  finish what was handed over, return).
- A batch whose commit failed (``nack``): messages delivered ``max_deliveries`` times go to the
  dead-letter exchange with the reason in their headers; everything else unacknowledged goes back to
  the queue in order, and no new messages are taken until the consumer resubscribes (after its
  backoff), so a later update never overtakes an earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aio_pika
import orjson
from pydantic import ValidationError

from openconnector.connectors import register
from openconnector.connectors.base import Batch, ConnectorError, ReadBase, ReadContext, RecordError
from openconnector.connectors.messages import DecodeError, Decoder, QueueConnector, raw_body
from openconnector.connectors.rabbitmq.config import RabbitRead, RabbitSource, RabbitTarget
from openconnector.connectors.rabbitmq.deliveries import TRACKER
from openconnector.connectors.rabbitmq.relay import RELAY_MESSAGES, Delivered
from openconnector.connectors.rabbitmq.session import Session
from openconnector.jsonutil import MISSING, dumps_str, get_path, split_path

log = logging.getLogger("openconnector.connectors.rabbitmq")

#: headers that change from one delivery of a message to the next: kept out of ``_meta`` so a
#: redelivered message hashes the same and is recognised as unchanged
VOLATILE_HEADERS = frozenset({"x-delivery-count"})


@register
class RabbitMQConnector(QueueConnector):
    type = "rabbitmq"
    Source = RabbitSource
    Read = RabbitRead

    def __init__(self, name: str, source: RabbitSource) -> None:
        super().__init__(name, source)
        self.source: RabbitSource = source
        self._session: Session | None = None
        self._read: RabbitRead | None = None
        self._pipeline = ""
        self._decoder: Decoder | None = None
        self._closing = False

    # -- life cycle ----------------------------------------------------------------------------

    async def _connected(self) -> Session:
        s = self._session
        if s is not None and s.lost is not None:
            await s.close()
            s = self._session = None
        if s is None:
            s = Session(self.name, self.source, self.counts)
            await s.connect()
            self._session = s
        return s

    async def open(self, read: ReadBase, pipeline: str) -> None:
        if not isinstance(read, RabbitRead):
            raise TypeError("RabbitMQConnector.open needs a RabbitRead")
        s = await self._connected()
        if s.queue != read.queue or self._read is not read:
            self._read, self._pipeline, self._decoder = read, pipeline, Decoder(read)
            try:
                ready = await s.setup(read)
                if s.consumer_tag is None and _relayed(read, ready):
                    await s.start_relay()
            except ConnectorError:
                await self.aclose()
                raise

    async def wait_ready(self, stop: asyncio.Event) -> bool:
        s = self._session
        if s is None or self._read is None:
            raise ConnectorError("open() the connector before waiting on it")
        if not self._closing and not stop.is_set():
            await s.subscribe()
            await s.gather(1, 0.0, None, stop)
        s.check()
        return bool(s.buffer)

    async def pause(self) -> None:
        self._closing = True
        if self._session is not None:
            await self._session.cancel()

    def usable(self) -> bool:
        return self._session is not None and self._session.connected and not self._closing

    def pending(self) -> int:
        return len(self._session.buffer) if self._session is not None else 0

    async def aclose(self) -> None:
        s, self._session = self._session, None
        if s is not None:
            await s.close()

    async def check(self) -> None:
        s = await self._connected()
        if self._read is not None:
            await s.ready_count()

    def stats(self) -> dict[str, Any]:
        s = self._session
        return {
            "connected": bool(s and s.connected),
            "queue": self._read.queue if self._read else None,
            "subscribed": bool(s and s.consumer_tag),
            "buffered": len(s.buffer) if s else 0,
            "reader": "process" if s and s.relay else "thread",
            "messages": self.counts.as_dict(),
        }

    # -- reading -------------------------------------------------------------------------------

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, RabbitRead)
        await self.open(read, ctx.pipeline)
        s = self._session
        assert s is not None
        size = read.batch_size
        if ctx.follow:
            if not self._closing and s.consumer_tag is None:
                await s.subscribe()
            while True:
                await s.gather(size, read.batch_wait, None, ctx.stop)
                if ctx.stop is not None and ctx.stop.is_set() and not s.paused:
                    return  # end of the run window: the buffer waits for the next run
                msgs = s.take(size)
                if msgs:
                    yield await self._batch(s, msgs, read, ctx)
                elif s.paused:
                    return  # shutting down (or after a nack): everything handed over is done
        limit = await s.ready_count() + len(s.buffer)
        if limit == 0:
            return
        await s.subscribe()
        taken = 0
        while True:
            if not s.paused and taken + len(s.buffer) >= limit:
                await s.cancel()  # enough for this run; what is in flight still arrives and is read
            await s.gather(size, read.batch_wait, read.idle_timeout, ctx.stop)
            msgs = s.take(size)
            if msgs:
                taken += len(msgs)
                yield await self._batch(s, msgs, read, ctx)
            elif s.paused:
                return
            else:
                await s.cancel()  # nothing came for idle_timeout: others took the rest

    async def _batch(self, s: Session, msgs: list[Delivered], read: RabbitRead, ctx: ReadContext) -> Batch:
        assert self._decoder is not None
        records, metas, errors, bad = _convert(msgs, read.queue, self._decoder, read.encoding)
        counts = self.counts
        counts.delivered += len(msgs)
        channel = s.consuming
        if bad:
            counts.undecodable += len(bad)
            if read.on_undecodable == "dead_letter":
                errors = await self._dead_letter_undecodable(s, channel, bad, errors, read, ctx.pipeline)
        last: int = msgs[-1].delivery.delivery_tag  # type: ignore[union-attr,assignment]
        queue = read.queue

        async def ack() -> None:
            await s.ack(channel, last)
            counts.acked += len(msgs)
            TRACKER.settled(queue, msgs)

        async def nack(exc: BaseException) -> None:
            await self._nack(s, channel, msgs, exc, read, ctx.pipeline)

        return Batch(
            records=records,
            meta=metas,
            errors=errors,
            ack=ack,
            nack=nack,
            where=f"queue {queue}, {len(msgs)} message{'s' if len(msgs) != 1 else ''}",
        )

    async def _dead_letter_undecodable(
        self,
        s: Session,
        channel: Any,
        bad: list[tuple[Delivered, RecordError]],
        errors: list[RecordError],
        read: RabbitRead,
        pipeline: str,
    ) -> list[RecordError]:
        kept = [e for e in errors if all(e is not err for _, err in bad)]
        for msg, err in bad:
            n = TRACKER.deliveries(read.queue, msg)
            if await s.dead_letter(read, msg, f"undecodable: {err.error}", n, pipeline):
                await s.ack_one(channel, msg.delivery.delivery_tag)  # type: ignore[union-attr,arg-type]
            else:
                kept.append(err)  # could not dead-letter: quarantine it instead, nothing is lost
        return kept

    async def _nack(
        self,
        s: Session,
        channel: Any,
        msgs: list[Delivered],
        exc: BaseException,
        read: RabbitRead,
        pipeline: str,
    ) -> None:
        if channel is not s.consuming or channel is None or channel.is_closed:
            return  # the connection is gone: the broker has given the messages back already
        reason = failure_reason(exc)
        returned: list[Delivered] = []
        dead = 0
        for m in msgs:
            n = TRACKER.deliveries(read.queue, m)
            if n >= read.max_deliveries and await s.dead_letter(read, m, reason, n, pipeline):
                await s.ack_one(channel, m.delivery.delivery_tag)  # type: ignore[union-attr,arg-type]
                dead += 1
            else:
                returned.append(m)
        buffered = await s.requeue_all()
        TRACKER.given_back(read.queue, returned)
        self.counts.requeued += len(returned) + buffered
        log.warning(
            "batch of %d message(s) from queue %s not committed (%s): %d back to the queue, %d dead-lettered",
            len(msgs),
            read.queue,
            reason,
            len(returned) + buffered,
            dead,
        )

    # -- writing -------------------------------------------------------------------------------

    async def write(self, target: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
        """Publish each record as a JSON message (persistent, publisher-confirmed, mandatory)."""
        try:
            t = RabbitTarget.model_validate(target)
        except ValidationError as exc:
            raise ConnectorError(f"rabbitmq write target: {exc.errors()[0]['msg']}") from None
        s = await self._connected()
        key_path = split_path(t.key) if t.key else None
        out: list[dict[str, Any]] = []
        messages: list[tuple[str, aio_pika.Message]] = []
        for i, rec in enumerate(records):
            key = _key(rec, key_path, t.key, i)
            routing_key = t.routing_key if t.routing_key is not None else key or ""
            messages.append(
                (
                    routing_key,
                    aio_pika.Message(
                        orjson.dumps(rec),
                        content_type="application/json",
                        message_id=key,
                        headers=dict(t.headers) or None,
                        delivery_mode=(
                            aio_pika.DeliveryMode.PERSISTENT
                            if t.persistent
                            else aio_pika.DeliveryMode.NOT_PERSISTENT
                        ),
                    ),
                )
            )
            out.append({"exchange": t.exchange, "routing_key": routing_key, "message_id": key})
        results = await asyncio.gather(
            *(s.publish(t.exchange, rk, m) for rk, m in messages), return_exceptions=True
        )
        for i, r in enumerate(results):
            if isinstance(r, BaseException):
                raise ConnectorError(f"record {i}: {r}") from None
        return out


def _relayed(read: RabbitRead, ready: int) -> bool:
    """Whether to consume through a child process (``read.reader``; ``auto`` decides by the
    backlog: the relay costs ~0.25 s to start and pays for it over a long run)."""
    if read.reader != "auto":
        return read.reader == "process"
    return ready >= RELAY_MESSAGES


def failure_reason(exc: BaseException) -> str:
    """One line for a dead-letter header: the error without the SQL statement and parameters a
    database error appends."""
    text = str(exc).split("\n[SQL:", 1)[0].split("\n(Background on this error", 1)[0]
    return " ".join(text.split())[:1000] or type(exc).__name__


def _key(rec: dict[str, Any], path: list[str] | None, label: str | None, i: int) -> str | None:
    if path is None:
        return None
    v = get_path(rec, path)
    if v is MISSING or v is None or v == "":
        raise ConnectorError(f"record {i} has no key at '{label}'")
    return v if isinstance(v, str) else dumps_str(v).strip('"')


def _plain(v: Any) -> Any:
    """Header values as JSON (AMQP tables also carry bytes, timestamps and decimals)."""
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Decimal):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _convert(
    msgs: list[Delivered], queue: str, decode: Decoder, encoding: str
) -> tuple[list[Any], list[dict[str, Any]], list[RecordError], list[tuple[Delivered, RecordError]]]:
    """Messages → records with their ``_meta``; bodies that cannot be decoded → record errors."""
    records: list[Any] = []
    metas: list[dict[str, Any]] = []
    errors: list[RecordError] = []
    bad: list[tuple[Delivered, RecordError]] = []
    for m in msgs:
        d: Any = m.delivery
        props = m.header.properties
        meta: dict[str, Any] = {"queue": queue, "exchange": d.exchange, "routing_key": d.routing_key}
        if props.message_id:
            meta["message_id"] = props.message_id
        if props.headers:
            headers = {k: _plain(v) for k, v in props.headers.items() if k not in VOLATILE_HEADERS}
            if headers:
                meta["headers"] = headers
        if props.correlation_id:
            meta["correlation_id"] = props.correlation_id
        if props.timestamp is not None:
            meta["timestamp"] = props.timestamp.isoformat()
        if props.message_type:
            meta["type"] = props.message_type
        try:
            recs = decode(m.body, props.content_type)
        except DecodeError as exc:
            where = (
                f"queue {queue} message {props.message_id}"
                if props.message_id
                else f"queue {queue} message (routing key {d.routing_key!r})"
            )
            err = RecordError(raw_body(m.body, encoding), str(exc), where=where, origin_id=props.message_id)
            errors.append(err)
            bad.append((m, err))
            continue
        if len(recs) == 1:
            records.append(recs[0])
            metas.append(meta)
        else:
            for i, r in enumerate(recs):
                records.append(r)
                metas.append({**meta, "index": i})
    return records, metas, errors, bad
