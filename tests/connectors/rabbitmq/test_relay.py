"""The relay: deliveries taken by a child process (``read.reader: process``, or ``auto`` with a big
backlog), against the real RabbitMQ. What the parametrised tests of the other files check for both
readers is not repeated here; these are the relay's own faults and decisions."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import tempfile
from pathlib import Path

import pytest

from openconnector.connectors import get_connector
from openconnector.connectors.base import Batch, ConnectorError, ReadContext
from openconnector.connectors.rabbitmq import RabbitRead, RabbitSource
from openconnector.connectors.rabbitmq.connector import RabbitMQConnector, _relayed
from openconnector.connectors.rabbitmq.relay import RELAY_MESSAGES, Relay
from openconnector.pipelines import PipelineRun, run_pipeline
from openconnector.pipelines.process import BatchOutcome
from tests.connectors.rabbitmq.helpers import (
    Rabbit,
    children,
    gone,
    open_project,
    rabbit_source,
    write_project,
)
from tests.connectors.rabbitmq.test_faults import ids_in


def test_auto_takes_the_relay_for_a_big_backlog_only() -> None:
    auto = RabbitRead(queue="q")
    assert not _relayed(auto, RELAY_MESSAGES - 1) and _relayed(auto, RELAY_MESSAGES)
    assert _relayed(RabbitRead(queue="q", reader="process"), 0)
    assert not _relayed(RabbitRead(queue="q", reader="thread"), 10 * RELAY_MESSAGES)


async def test_reads_through_the_relay_in_order_and_leaves_no_process(
    tmp_path: Path, rabbit: Rabbit, queue: str
) -> None:
    # five versions of one record in five messages, spread over batches: the last one must win
    bodies = [{"id": i, "name": f"p{i}"} for i in range(200)]
    bodies += [{"id": 7, "name": f"version {v}"} for v in range(5)]
    await rabbit.publish(queue, bodies)
    source = RabbitSource.model_validate(rabbit_source())
    read = RabbitRead(queue=queue, batch_size=60, reader="process")
    connector = get_connector("rabbitmq")("mq", source)
    assert isinstance(connector, RabbitMQConnector)
    ids: list[int] = []
    pipe_sizes: list[int] = []
    async with connector:
        async for batch in connector.read(read, ReadContext("p")):
            s = connector._session
            assert s is not None and s.relay is not None
            pid = s.relay.pid
            if not pipe_sizes and hasattr(fcntl, "F_GETPIPE_SZ"):  # the relay widened its wire (Linux)
                wire = s.relay._proc._transport.get_pipe_transport(1).get_extra_info("pipe")  # type: ignore[attr-defined]
                pipe_sizes.append(fcntl.fcntl(wire.fileno(), fcntl.F_GETPIPE_SZ))
            ids += [r["id"] for r in batch.records]
            assert batch.ack is not None
            await batch.ack()
    assert ids == [b["id"] for b in bodies]  # every message once, in queue order
    assert all(size > 65_536 for size in pipe_sizes)  # more than Linux's default
    assert gone(pid)
    assert await rabbit.count(queue) == 0

    project, store = open_project(
        write_project(tmp_path, rabbit_source(), {"queue": queue, "reader": "process"})
    )
    await rabbit.publish(queue, bodies)
    r = await run_pipeline(project, store, "people")
    assert r.status == "ok" and r.counts["created"] == 200, r.counts
    seven = store.list_objects("crm", "person", filters={"id": "7"}).results
    assert [d["name"] for d in seven] == ["version 4"]
    store.dispose()


async def test_relay_killed_mid_run_loses_nothing_and_lands_each_record_once(
    tmp_path: Path, rabbit: Rabbit, queue: str
) -> None:
    await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(300)])
    read = {"queue": queue, "batch_size": 50, "reader": "process"}
    project, store = open_project(write_project(tmp_path, rabbit_source(), read))
    run = PipelineRun(project, store, "people")
    killed: list[int] = []

    def kill_the_relay(batch: Batch, outcome: BatchOutcome) -> None:
        if not killed:  # while the first batch is processed, before its commit and ack
            killed.extend(children(os.getpid(), "rabbitmq.relay"))
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    run.on_batch.append(kill_the_relay)
    r1 = await run.execute()
    assert len(killed) == 1
    assert r1.status == "partial", (r1.status, r1.errors)
    assert "reader process ended (exit code -9)" in str(r1.errors)
    first = r1.counts["created"]
    assert first in (50, 100), r1.counts  # the batch being processed, and one already handed over
    assert gone(killed[0]) and children(os.getpid(), "rabbitmq.relay") == []

    # whatever was not acknowledged is delivered again: what landed is recognised, the rest lands
    for _ in range(100):  # the broker requeues what the killed relay held a moment after it died
        if await rabbit.count(queue) >= 300 - first:
            break
        await asyncio.sleep(0.05)
    r2 = await run_pipeline(project, store, "people")
    assert r2.status == "ok", r2.errors
    assert r2.counts["created"] == 300 - first, r2.counts
    assert r2.counts["created"] + r2.counts["unchanged"] == r2.counts["read"]
    assert ids_in(store) == list(range(300))  # each exactly once
    assert {d["@self"]["version"] for d in store.list_objects("crm", "person", limit=300).results} == {1}
    assert await rabbit.count(queue) == 0
    store.dispose()


async def test_a_relay_that_cannot_log_in_says_why() -> None:
    wrong = {"type": "basic", "username": "guest", "password": "s3cret-pw"}
    source = RabbitSource.model_validate(rabbit_source(auth=wrong))

    def never(*_: object) -> None:
        raise AssertionError("no delivery expected")

    with pytest.raises(ConnectorError) as caught:
        await Relay.start("mq", source, never, never)
    assert "refused the login of user 'guest'" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)


async def test_auto_takes_the_relay_for_a_backlog_and_one_process_for_a_few(
    tmp_path: Path, rabbit: Rabbit, queue: str
) -> None:
    project, store = open_project(write_project(tmp_path, rabbit_source(), {"queue": queue}))
    seen: list[int] = []
    for n in (RELAY_MESSAGES, 10):
        await rabbit.load(queue, [{"id": i, "name": f"p{i}"} for i in range(n)])
        run = PipelineRun(project, store, "people")
        run.on_batch.append(lambda b, o: seen.append(len(children(os.getpid(), "rabbitmq.relay"))))
        r = await run.execute()
        assert r.status == "ok" and r.counts["read"] == n, (r.status, r.counts)
        assert set(seen) == ({1} if n == RELAY_MESSAGES else {0}), seen
        seen.clear()
    store.dispose()


async def test_a_wire_that_cannot_be_read_ends_the_relay_with_a_clear_error() -> None:
    # a real process stands in for the relay; what it "sent" is not a pickle
    proc = await asyncio.create_subprocess_exec("sleep", "30", stdin=asyncio.subprocess.PIPE)
    lost: list[ConnectorError] = []
    with tempfile.TemporaryFile() as stderr:
        relay = Relay(proc, stderr, lambda msgs: None, lost.append)
        stream = asyncio.StreamReader()
        stream.feed_data((5).to_bytes(8, "big") + b"nope!")
        stream.feed_eof()
        await relay._read(stream)
        assert relay.is_closed and len(lost) == 1 and lost[0].retryable
        assert "the RabbitMQ reader process sent what could not be read" in str(lost[0])
        assert await asyncio.wait_for(proc.wait(), 5) == -signal.SIGKILL  # no longer trusted
