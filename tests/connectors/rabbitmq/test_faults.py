"""Faults with RabbitMQ: the store refusing writes mid-run (a real SQLite trigger raising, so the
batch commit fails), dead-lettering after too many deliveries (quorum and classic queues), bodies that
cannot be decoded sent to the dead letters, and the broker closing the connection under a consumer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from openconnector.consume import ConsumeOptions, PipelineConsumer
from openconnector.pipelines import run_pipeline
from openconnector.registers import Store
from tests.connectors.rabbitmq.helpers import (
    Rabbit,
    close_connections,
    open_project,
    rabbit_source,
    unique,
    write_project,
)


def store_refuses(path: Path, when: str = "1") -> None:
    """Make the store fail every object insert matching ``when`` (as a full disk would)."""
    with sqlite3.connect(path) as db:
        db.execute(
            f"CREATE TRIGGER store_down BEFORE INSERT ON objects WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END"
        )


def store_recovers(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER store_down")


def ids_in(store: Store) -> list[int]:
    return sorted(d["id"] for d in store.list_objects("crm", "person", limit=1000).results)


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_store_failure_mid_run_requeues_and_lands_once(
    tmp_path: Path, rabbit: Rabbit, queue: str, reader: str
) -> None:
    await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(30)])
    project, store = open_project(
        write_project(tmp_path, rabbit_source(), {"queue": queue, "batch_size": 10, "reader": reader})
    )
    db = tmp_path / "store.db"
    store_refuses(db, "json_extract(NEW.data, '$.id') >= 10")

    r1 = await run_pipeline(project, store, "people")
    assert r1.status == "partial" and r1.counts["created"] == 10, (r1.status, r1.counts)
    assert "disk full (test)" in str(r1.errors)
    assert ids_in(store) == list(range(10))
    assert await rabbit.count(queue) == 20  # not acknowledged: back in the queue, nothing lost

    store_recovers(db)
    r2 = await run_pipeline(project, store, "people")
    assert r2.status == "ok" and r2.counts["created"] == 20 and r2.counts["read"] == 20, r2.counts
    assert ids_in(store) == list(range(30))  # each exactly once
    assert await rabbit.count(queue) == 0
    store.dispose()


async def test_dead_letter_after_max_deliveries_with_reason(
    tmp_path: Path, rabbit: Rabbit, reader: str
) -> None:
    queue = unique()
    rabbit.created += [queue, f"{queue}.dead"]
    read = {"queue": queue, "declare": True, "max_deliveries": 2, "reader": reader}
    project, store = open_project(write_project(tmp_path, rabbit_source(), read))
    await run_pipeline(project, store, "people")  # declares the quorum queue and its dead-letter queue
    await rabbit.publish(queue, [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}], message_id="m1")
    store_refuses(tmp_path / "store.db")

    r1 = await run_pipeline(project, store, "people")
    assert r1.status == "failed" and await rabbit.count(queue) == 2  # first delivery failed: requeued
    r2 = await run_pipeline(project, store, "people")
    assert r2.status == "failed"
    assert await rabbit.count(queue) == 0  # second delivery failed: max_deliveries reached
    dead = await rabbit.get_all(f"{queue}.dead")
    assert len(dead) == 2
    headers = dead[0].headers
    assert "disk full (test)" in str(headers["x-openconnector-reason"])
    assert "[SQL:" not in str(headers["x-openconnector-reason"])
    assert headers["x-openconnector-deliveries"] == 2 and headers["x-openconnector-pipeline"] == "people"
    assert dead[0].body == b'{"id":1,"name":"Ann"}' and dead[0].message_id == "m1"
    assert store.count_objects("crm", "person") == 0
    store.dispose()


async def test_classic_queue_deliveries_are_counted_by_the_consumer(
    tmp_path: Path, rabbit: Rabbit, reader: str
) -> None:
    queue = unique()
    await rabbit.declare(queue, quorum=False)
    async with rabbit.connection.channel() as ch:
        await ch.declare_queue(f"{queue}.dead", durable=True)
    await rabbit.publish(queue, [{"id": 7, "name": "Gus"}])  # no message id: counted by body hash
    project, store = open_project(
        write_project(tmp_path, rabbit_source(), {"queue": queue, "max_deliveries": 3, "reader": reader})
    )
    store_refuses(tmp_path / "store.db")
    for _ in range(2):
        assert (await run_pipeline(project, store, "people")).status == "failed"
        assert await rabbit.count(queue) == 1
    await run_pipeline(project, store, "people")
    assert await rabbit.count(queue) == 0 and await rabbit.count(f"{queue}.dead") == 1
    store.dispose()


async def test_undecodable_bodies_can_go_to_the_dead_letters(
    tmp_path: Path, rabbit: Rabbit, reader: str
) -> None:
    queue = unique()
    rabbit.created += [queue, f"{queue}.dead"]
    read = {
        "queue": queue,
        "declare": True,
        "format": "json",
        "on_undecodable": "dead_letter",
        "reader": reader,
    }
    project, store = open_project(write_project(tmp_path, rabbit_source(), read))
    await run_pipeline(project, store, "people")
    await rabbit.publish(queue, [b"\xff\xfe garbage", {"id": 1, "name": "Ann"}])
    r = await run_pipeline(project, store, "people")
    assert r.counts["created"] == 1 and r.counts["quarantined"] == 0 and r.counts["read"] == 1, r.counts
    dead = await rabbit.get_all(f"{queue}.dead")
    assert [m.body for m in dead] == [b"\xff\xfe garbage"]
    assert str(dead[0].headers["x-openconnector-reason"]).startswith("undecodable: not valid JSON")
    assert await rabbit.count(queue) == 0
    store.dispose()


async def test_consumer_reconnects_when_the_broker_drops_the_connection(
    tmp_path: Path, rabbit: Rabbit, queue: str, reader: str
) -> None:
    project, store = open_project(
        write_project(tmp_path, rabbit_source(), {"queue": queue, "batch_size": 50, "reader": reader})
    )
    consumer = PipelineConsumer(
        project, store, "people", ConsumeOptions(run_window=1.0, backoff_initial=0.2, lock_ttl=5)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    try:
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(5)])
        await eventually(lambda: store.count_objects("crm", "person") == 5)
        assert await asyncio.to_thread(close_connections, "openconnector mq") >= 1
        await eventually(lambda: consumer.last_error is not None and "lost" in consumer.last_error)
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(5, 10)])
        await eventually(lambda: store.count_objects("crm", "person") == 10)
        assert consumer.state in ("waiting", "running")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert ids_in(store) == list(range(10))
    assert await rabbit.count(queue) == 0
    assert consumer.state == "stopped"
    store.dispose()


async def test_queue_deleted_under_the_consumer(
    tmp_path: Path, rabbit: Rabbit, queue: str, reader: str
) -> None:
    project, store = open_project(
        write_project(tmp_path, rabbit_source(), {"queue": queue, "reader": reader})
    )
    consumer = PipelineConsumer(
        project, store, "people", ConsumeOptions(backoff_initial=0.1, backoff_max=0.2)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    try:
        await eventually(lambda: consumer.state == "waiting")
        async with rabbit.connection.channel() as ch:
            await ch.queue_delete(queue)
        await eventually(lambda: "cancelled the consumer" in str(consumer.last_error))
        await eventually(lambda: "does not exist" in str(consumer.last_error))  # reconnecting, told why
        assert consumer.state in ("backing off", "connecting")
        await rabbit.declare(queue)
        await rabbit.publish(queue, [{"id": 1, "name": "Ann"}])
        await eventually(lambda: store.count_objects("crm", "person") == 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    store.dispose()
