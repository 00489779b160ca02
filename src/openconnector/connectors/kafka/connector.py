"""Kafka source: consume topics in a consumer group; commit offsets only after a batch is committed.

At-least-once from Kafka, effectively-once in the register: a message delivered again (after a crash
between the store commit and the offset commit, or a rebalance) hashes the same and is "unchanged".

- ``run``: once the group has assigned partitions, reads up to the end offsets they had at that
  moment, then returns.
- ``consume`` (``ctx.follow``): yields batches as they come until ``ctx.stop`` or :meth:`pause`.
- A batch whose commit failed (``nack``): its partitions are rewound to the batch's first offsets, so
  the next run reads the same messages again — Kafka keeps order per partition, and a store outage
  never skips a message. Messages that cannot even be decoded are quarantined (default) or, with
  ``on_undecodable: dead_letter``, produced to ``dead_letter_topic`` before their offset is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiokafka.errors as kerr
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from openconnector.connectors import register
from openconnector.connectors.base import Batch, ConnectorError, ReadBase, ReadContext, RecordError
from openconnector.connectors.kafka.client import client_kwargs, start_error
from openconnector.connectors.kafka.config import KafkaRead, KafkaSource, KafkaTarget
from openconnector.connectors.messages import (
    DEAD_LETTER_HEADERS,
    DecodeError,
    Decoder,
    QueueConnector,
    raw_body,
)
from openconnector.jsonutil import MISSING, dumps_str, get_path, split_path

log = logging.getLogger("openconnector.connectors.kafka")

Records = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: KafkaConnector) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.owner._assigned.clear()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.debug("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))
        self.owner._assigned.set()


@register
class KafkaConnector(QueueConnector):
    type = "kafka"
    Source = KafkaSource
    Read = KafkaRead

    def __init__(self, name: str, source: KafkaSource) -> None:
        super().__init__(name, source)
        self.source: KafkaSource = source
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._read: KafkaRead | None = None
        self._pipeline = ""
        self._decoder: Decoder | None = None
        self._assigned = asyncio.Event()
        self._pending: Records | None = None  # fetched by wait_ready, read first by the next run
        self._next: dict[TopicPartition, int] = {}  # next offset to hand out, per partition
        self._closing = False
        self._broken = False  # a fetch or commit failed: the consumer reopens the connector

    # -- life cycle ----------------------------------------------------------------------------

    async def open(self, read: ReadBase, pipeline: str) -> None:
        if not isinstance(read, KafkaRead):
            raise TypeError("KafkaConnector.open needs a KafkaRead")
        if self._consumer is not None:
            return
        self._read, self._pipeline, self._decoder = read, pipeline, Decoder(read)
        session_ms = int(read.session_timeout * 1000)
        consumer = AIOKafkaConsumer(
            group_id=read.group_id(pipeline),
            enable_auto_commit=False,
            auto_offset_reset=read.start,
            max_poll_records=read.batch_size,
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 4),
            **client_kwargs(self.source),
        )
        listener = _Listener(self)
        if read.pattern is not None:
            consumer.subscribe(pattern=read.pattern, listener=listener)
        else:
            consumer.subscribe(topics=read.topics, listener=listener)
        try:
            await consumer.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise start_error(exc, self.source) from None
        self._consumer = consumer

    async def wait_ready(self, stop: asyncio.Event) -> bool:
        c, read = self._consumer, self._read
        if c is None or read is None:
            raise ConnectorError("open() the connector before waiting on it")
        while self._pending is None and not stop.is_set() and not self._closing:
            data = await self._fetch(c, read.batch_size, read.batch_wait)
            if data:
                self._pending = data
        return self._pending is not None

    async def pause(self) -> None:
        self._closing = True
        self._pending = None  # not committed: whoever owns the partition next reads them again

    def usable(self) -> bool:
        return self._consumer is not None and not self._broken and not self._closing

    def pending(self) -> int:
        return sum(len(v) for v in self._pending.values()) if self._pending else 0

    async def aclose(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        self._pending = None
        for client in (consumer, producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.stop(), 10)

    async def check(self) -> None:
        if self._consumer is not None:
            try:
                await self._consumer.topics()
            except Exception as exc:
                raise start_error(exc, self.source) from None
            return
        await self._producer_started()

    def stats(self) -> dict[str, Any]:
        c = self._consumer
        lag: dict[str, int] = {}
        if c is not None:
            for tp in c.assignment():
                high = c.highwater(tp)
                if high is not None:
                    lag[f"{tp.topic}[{tp.partition}]"] = max(0, high - self._next.get(tp, high))
        return {
            "connected": c is not None,
            "group": self._read.group_id(self._pipeline) if self._read else None,
            "assigned": sorted(lag) if c is not None else [],
            "lag": lag,
            "messages": self.counts.as_dict(),
        }

    async def _fetch(self, c: AIOKafkaConsumer, size: int, wait: float) -> Records:
        try:
            data: Records = await c.getmany(timeout_ms=int(wait * 1000), max_records=size)
        except kerr.KafkaError as exc:
            self._broken = True
            raise ConnectorError(
                f"fetching from Kafka: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        return data

    # -- reading -------------------------------------------------------------------------------

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, KafkaRead)
        await self.open(read, ctx.pipeline)
        c = self._consumer
        assert c is not None
        size = read.batch_size
        if ctx.follow:
            while not self._closing and not (ctx.stop is not None and ctx.stop.is_set()):
                data, self._pending = self._pending, None
                if data is None:
                    data = await self._fetch(c, size, read.batch_wait)
                if data:
                    yield await self._batch(c, data, read, ctx)
            return
        if not await self._joined(c, read):
            ctx.warnings.append(
                f"no partitions of {read.topics or read.pattern} were assigned to this consumer "
                f"(group {read.group_id(ctx.pipeline)!r}); does the topic exist?"
            )
            return
        ends: dict[TopicPartition, int] = {}
        idle_since = time.monotonic()
        while not await self._at_end(c, ends):
            data, self._pending = self._pending, None
            if data is None:
                data = await self._fetch(c, size, min(read.batch_wait, read.idle_timeout))
            if data:
                idle_since = time.monotonic()
                yield await self._batch(c, data, read, ctx)
            elif time.monotonic() - idle_since > read.idle_timeout + read.session_timeout:
                ctx.warnings.append("stopped before the end offsets: no messages came although more were due")
                return
        await self._commit_positions(c)

    async def _commit_positions(self, c: AIOKafkaConsumer) -> None:
        """At the end of a run every batch is acknowledged, so the positions are what was read. Commit
        them for partitions that have no committed offset yet: a group that started ``latest`` then
        starts from here next time instead of from the then-latest offset."""
        offsets = {}
        for tp in c.assignment():
            if await c.committed(tp) is None:
                offsets[tp] = await c.position(tp)
        if offsets:
            with contextlib.suppress(kerr.KafkaError):
                await c.commit(offsets)

    async def _joined(self, c: AIOKafkaConsumer, read: KafkaRead) -> bool:
        """Wait until the group has assigned partitions (False: it assigned none to us)."""
        timeout = 2 * read.session_timeout + self.source.request_timeout
        deadline = time.monotonic() + timeout
        while not self._assigned.is_set() or not c.assignment():
            if self._assigned.is_set() and not c.assignment():
                return False
            if time.monotonic() > deadline:
                raise ConnectorError(
                    f"consumer group {read.group_id(self._pipeline)!r} got no partitions in {timeout:.0f}s",
                    retryable=True,
                )
            # fetching drives the group join; keep what it returns for the first batch
            data = await self._fetch(c, read.batch_size, 0.1)
            if data:
                self._pending = data
        return True

    async def _at_end(self, c: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        """Whether every assigned partition has been read up to the high watermark it had when this
        read first saw it (from fetch responses: some brokers under-report ListOffsets)."""
        if self._pending:
            return False
        for tp in c.assignment():
            if tp not in ends:
                high = c.highwater(tp)
                if high is None:
                    return False
                ends[tp] = high
            if await c.position(tp) < ends[tp]:
                return False
        return True

    async def _batch(self, c: AIOKafkaConsumer, data: Records, read: KafkaRead, ctx: ReadContext) -> Batch:
        assert self._decoder is not None
        decode = self._decoder
        encoding = read.encoding
        records: list[Any] = []
        metas: list[dict[str, Any]] = []
        errors: list[RecordError] = []
        bad: list[tuple[ConsumerRecord[bytes, bytes], RecordError]] = []
        first: dict[TopicPartition, int] = {}
        last: dict[TopicPartition, int] = {}
        n = 0
        stamp, stamp_iso = -1, ""
        for tp, msgs in data.items():
            first[tp] = msgs[0].offset
            last[tp] = msgs[-1].offset
            n += len(msgs)
            topic, partition = tp.topic, tp.partition
            for m in msgs:
                meta: dict[str, Any] = {"topic": topic, "partition": partition, "offset": m.offset}
                if m.key is not None:
                    try:
                        meta["key"] = m.key.decode()
                    except UnicodeDecodeError:
                        meta["key"] = raw_body(m.key)
                if m.timestamp is not None and m.timestamp >= 0:
                    if m.timestamp != stamp:  # a producer batch shares one timestamp: format it once
                        stamp, stamp_iso = (
                            m.timestamp,
                            datetime.fromtimestamp(m.timestamp / 1000, UTC).isoformat(),
                        )
                    meta["timestamp"] = stamp_iso
                if m.headers:
                    meta["headers"] = {
                        k: v.decode("utf-8", "replace") if v is not None else None for k, v in m.headers
                    }
                value = m.value if m.value is not None else b""
                try:
                    recs = decode(value)
                except DecodeError as exc:
                    err = RecordError(
                        raw_body(value, encoding), str(exc), where=f"{topic}[{partition}]@{m.offset}"
                    )
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
        counts = self.counts
        counts.delivered += n
        for tp, offset in last.items():
            self._next[tp] = offset + 1
        if bad:
            counts.undecodable += len(bad)
            if read.on_undecodable == "dead_letter":
                errors = await self._dead_letter(bad, errors, read, ctx.pipeline)
        commit = {tp: offset + 1 for tp, offset in last.items()}

        async def ack() -> None:
            try:
                await c.commit(commit)
            except (kerr.KafkaError, AssertionError) as exc:
                self._broken = True
                raise ConnectorError(
                    f"the batch was committed to the store but its offsets were not ({type(exc).__name__}: "
                    f"{exc}); Kafka delivers it again and it is recognised as unchanged",
                    retryable=True,
                ) from None
            counts.acked += n

        async def nack(exc: BaseException) -> None:
            assigned = c.assignment()
            for tp, offset in first.items():
                if tp in assigned:
                    c.seek(tp, offset)
                    self._next[tp] = offset
            self._pending = None
            counts.requeued += n
            log.warning("batch of %d message(s) not committed (%s); rewound to read it again", n, exc)

        span = ", ".join(f"{tp.topic}[{tp.partition}]@{first[tp]}-{last[tp]}" for tp in first)
        return Batch(records=records, meta=metas, errors=errors, ack=ack, nack=nack, where=span)

    async def _dead_letter(
        self,
        bad: list[tuple[ConsumerRecord[bytes, bytes], RecordError]],
        errors: list[RecordError],
        read: KafkaRead,
        pipeline: str,
    ) -> list[RecordError]:
        assert read.dead_letter_topic is not None
        kept = [e for e in errors if all(e is not err for _, err in bad)]
        try:
            producer = await self._producer_started()
            for m, err in bad:
                headers = list(m.headers or ())
                headers += [
                    (DEAD_LETTER_HEADERS["reason"], f"undecodable: {err.error}"[:1000].encode()),
                    (DEAD_LETTER_HEADERS["source"], f"{self.name} {err.where}".encode()),
                    (DEAD_LETTER_HEADERS["pipeline"], pipeline.encode()),
                    (
                        DEAD_LETTER_HEADERS["failed_at"],
                        datetime.now(UTC).isoformat(timespec="seconds").encode(),
                    ),
                ]
                await producer.send_and_wait(read.dead_letter_topic, m.value, key=m.key, headers=headers)
                self.counts.dead_lettered += 1
        except (kerr.KafkaError, ConnectorError) as exc:
            log.error(
                "could not produce to dead-letter topic %s; quarantining instead: %s",
                read.dead_letter_topic,
                exc,
            )
            return errors  # quarantined instead: nothing is lost
        return kept

    # -- writing -------------------------------------------------------------------------------

    async def _producer_started(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(acks="all", linger_ms=5, **client_kwargs(self.source))
            try:
                await producer.start()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise start_error(exc, self.source) from None
            self._producer = producer
        return self._producer

    async def write(self, target: dict[str, Any], records: list[dict[str, Any]]) -> list[Any]:
        """Produce each record as a JSON message (acks=all); returns partition and offset of each."""
        try:
            t = KafkaTarget.model_validate(target)
        except ValidationError as exc:
            raise ConnectorError(f"kafka write target: {exc.errors()[0]['msg']}") from None
        producer = await self._producer_started()
        key_path = split_path(t.key) if t.key else None
        headers = [(k, v.encode()) for k, v in t.headers.items()] or None
        futures = []
        try:
            for i, rec in enumerate(records):
                key = None
                if key_path is not None:
                    v = get_path(rec, key_path)
                    if v is MISSING or v is None or v == "":
                        raise ConnectorError(f"record {i} has no key at '{t.key}'")
                    key = (v if isinstance(v, str) else dumps_str(v).strip('"')).encode()
                futures.append(
                    await producer.send(
                        t.topic, orjson.dumps(rec), key=key, headers=headers, partition=t.partition
                    )
                )
            sent = await asyncio.gather(*futures)
        except kerr.KafkaError as exc:
            raise ConnectorError(f"producing to topic {t.topic!r}: {type(exc).__name__}: {exc}") from None
        return [{"topic": m.topic, "partition": m.partition, "offset": m.offset} for m in sent]
