"""The continuous consumer: runs cut into windows (trigger ``consume``, never empty), a clean stop on
SIGTERM, a consumer process killed with SIGKILL and restarted (every message lands exactly once), the
store going away under a running consumer, the handle ``serve`` uses, and the command's errors."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from openconnector.consume import ConsumeOptions, NotConsumable, PipelineConsumer, start_consumers
from openconnector.registers import RunLog
from tests.conftest import PG_ADMIN_URL
from tests.connectors.kafka.broker import Tansu, kafka_read, kafka_source
from tests.connectors.rabbitmq.helpers import (
    Rabbit,
    children,
    gone,
    open_project,
    rabbit_source,
    unique,
    wait_until,
    write_project,
)
from tests.connectors.rabbitmq.test_faults import eventually, ids_in

CLI = [sys.executable, "-m", "openconnector"]


@pytest.fixture
async def rabbit() -> AsyncIterator[Rabbit]:
    r = await Rabbit.connect()
    yield r
    await r.close()


@pytest.fixture
async def queue(rabbit: Rabbit) -> str:
    name = unique()
    await rabbit.declare(name)
    return name


def sqlite_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def landed(db: Path) -> int:
    try:
        return int(sqlite_rows(db, "SELECT count(*) FROM objects")[0][0])
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.parametrize("reader", ["thread", "process"])
async def test_runs_are_windows_of_messages_and_stop_finishes_the_batch(
    tmp_path: Path, rabbit: Rabbit, queue: str, reader: str
) -> None:
    read = {"queue": queue, "batch_size": 20, "batch_wait": 0.05, "reader": reader}
    project, store = open_project(write_project(tmp_path, rabbit_source(), read))
    consumer = PipelineConsumer(project, store, "people", ConsumeOptions(run_window=0.5, run_records=30))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    try:
        await eventually(lambda: consumer.state == "waiting")
        await asyncio.sleep(0.8)  # a quiet queue: no run is started
        assert RunLog(store.engine).list(pipeline="people").total == 0
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(100)])
        await eventually(lambda: store.count_objects("crm", "person") == 100)
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(100, 110)])
        await eventually(lambda: store.count_objects("crm", "person") == 110)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    runs = RunLog(store.engine).list(pipeline="people", limit=100).results
    assert len(runs) >= 3 and all(0 < r["counts"]["read"] < 30 + 20 for r in runs)  # run_records + a batch
    assert {r["trigger"] for r in runs} == {"consume"} and {r["status"] for r in runs} == {"ok"}
    assert sum(r["counts"]["read"] for r in runs) == 110
    assert ids_in(store) == list(range(110))
    assert await rabbit.count(queue) == 0
    snap = consumer.snapshot()
    assert snap["state"] == "stopped" and snap["records"]["created"] == 110 and snap["runs"] == len(runs)
    assert snap["messages"]["acked"] == 110 and snap["messages"]["requeued"] == 0
    store.dispose()


def _consume_process(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "consume", "people", "-c", str(config), "--lock-ttl", "1", "--run-window", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=open(config.parent / f"consume-{time.monotonic_ns()}.log", "wb"),
        cwd=config.parent,
        env={**os.environ, "OPENCONNECTOR_CONFIG": str(config)},
    )


@pytest.mark.parametrize("broker", ["rabbitmq", "rabbitmq-relay", "kafka"])
async def test_sigkill_mid_stream_then_restart_lands_every_message_once(
    tmp_path: Path, broker: str, request: pytest.FixtureRequest
) -> None:
    n = 4000
    messages = [{"id": i, "name": f"person {i}", "age": i % 90} for i in range(n)]
    rabbit: Rabbit | None = None
    relays: list[int] = []
    if broker.startswith("rabbitmq"):
        rabbit = await Rabbit.connect()
        queue = unique()
        await rabbit.declare(queue)
        reader = "process" if broker == "rabbitmq-relay" else "thread"
        source, read = rabbit_source(), {"queue": queue, "batch_size": 100, "reader": reader}
    else:
        tansu: Tansu = request.getfixturevalue("tansu")
        topic = await tansu.create_topic(partitions=2)
        source, read = kafka_source(tansu.bootstrap), kafka_read(topic, batch_size=100)
    db = tmp_path / "store.db"
    config = write_project(tmp_path, source, read, database_url=f"sqlite:///{db}")
    try:
        first = _consume_process(config)
        # publish while it consumes, so batches are in flight when it is killed
        for i in range(0, n, 500):
            if rabbit is not None:
                await rabbit.publish(queue, messages[i : i + 500])
            else:
                await tansu.produce(topic, messages[i : i + 500])
            if i == 1000:
                await wait_until(lambda: landed(db) > 0, "the first batches", 30)
                relays = children(first.pid, "rabbitmq.relay")
                first.send_signal(signal.SIGKILL)
                first.wait(10)
        assert first.returncode == -signal.SIGKILL
        if broker == "rabbitmq-relay":  # its relay sees its stdin end, and exits: no orphan
            assert len(relays) == 1
            await wait_until(lambda: gone(relays[0]), "the killed consumer's relay to exit", 10)
        assert 0 < landed(db) < n
        second = _consume_process(config)
        try:
            await wait_until(lambda: landed(db) == n, f"all {n} messages", 60)
            await asyncio.sleep(0.5)  # anything more would be a double write
            assert landed(db) == n
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        if rabbit is not None:
            await rabbit.close()
    rows = sqlite_rows(db, "SELECT origin_id, data, version FROM objects")
    assert len(rows) == n and len({r[0] for r in rows}) == n
    assert sorted(orjson.loads(r[1])["id"] for r in rows) == list(range(n))
    assert all(orjson.loads(r[1]) == messages[int(r[0])] for r in rows)  # content, not only count
    assert {r[2] for r in rows} == {1}  # no second version: nothing applied twice
    runs = sqlite_rows(db, "SELECT status, errors, trigger FROM runs")
    # a run the killed process left open is marked interrupted by its successor; none stays "running"
    assert all(s == "ok" or (s == "failed" and "interrupted" in e) for s, e, _ in runs), runs
    assert {t for _, _, t in runs} == {"consume"}


@pytest.mark.parametrize("reader", ["thread", "process"])
async def test_sigterm_stops_cleanly(tmp_path: Path, rabbit: Rabbit, queue: str, reader: str) -> None:
    db = tmp_path / "store.db"
    read = {"queue": queue, "reader": reader}
    config = write_project(tmp_path, rabbit_source(), read, database_url=f"sqlite:///{db}")
    proc = _consume_process(config, "--json")
    await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(50)])
    await wait_until(lambda: landed(db) == 50, "50 messages", 30)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    summary = orjson.loads(out)["pipelines"][0]
    assert summary["pipeline"] == "people" and summary["state"] == "stopped"
    assert summary["records"]["created"] == 50 and summary["messages"]["acked"] == 50
    assert {s for (s,) in sqlite_rows(db, "SELECT status FROM runs")} == {"ok"}
    assert await rabbit.count(queue) == 0


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A database of its own, because the test cuts it off."""
    name = f"oc_consume_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _database(url: str, *, up: bool) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if up else "false"}'))
        if not up:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
    admin.dispose()


@pytest.mark.postgres
async def test_the_store_going_away_under_a_consumer(
    tmp_path: Path, rabbit: Rabbit, queue: str, pg_store_url: str
) -> None:
    project, store = open_project(
        write_project(tmp_path, rabbit_source(), {"queue": queue, "batch_size": 10}), pg_store_url
    )
    consumer = PipelineConsumer(
        project,
        store,
        "people",
        ConsumeOptions(run_window=0.5, backoff_initial=0.1, backoff_max=0.5, lock_ttl=1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    try:
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(20)])
        await eventually(lambda: store.count_objects("crm", "person") == 20)
        await asyncio.to_thread(_database, pg_store_url, up=False)
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(20, 60)])
        await eventually(lambda: consumer.state == "backing off" and consumer.last_error is not None)
        await asyncio.sleep(1.0)  # a few failed attempts while the database is away
        assert await rabbit.count(queue) > 0  # nothing acknowledged that was not stored
        await asyncio.to_thread(_database, pg_store_url, up=True)
        await eventually(lambda: store.count_objects("crm", "person") == 60, 30)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert ids_in(store) == list(range(60))
    assert await rabbit.count(queue) == 0 and consumer.snapshot()["messages"]["dead_lettered"] == 0
    assert "the store is unavailable" in str(consumer.last_error)
    store.dispose()


async def test_start_consumers_handle_for_serve(tmp_path: Path, rabbit: Rabbit, queue: str) -> None:
    path = write_project(
        tmp_path, rabbit_source(), {"queue": queue}, triggers=[{"consume": {"run_window": 0.5}}]
    )
    project, store = open_project(path)
    finished: list[dict[str, Any]] = []
    group = start_consumers(project, store, on_run=finished.append)
    try:
        assert [c.pipeline for c in group.consumers] == ["people"]
        assert group.consumers[0].options.run_window == 0.5
        await eventually(lambda: group.healthy)
        await rabbit.publish(queue, [{"id": 1, "name": "Ann"}])
        # A window may close empty before the message arrives: wait for the run that read it.
        await eventually(lambda: any(doc["counts"]["created"] for doc in finished))
        snap = group.snapshot()[0]
        assert snap["pipeline"] == "people" and snap["type"] == "rabbitmq" and snap["healthy"]
        assert snap["connected"] and snap["queue"] == queue and snap["records"]["created"] == 1
        assert all(doc["trigger"] == "consume" for doc in finished)
        assert [doc["counts"]["created"] for doc in finished if doc["counts"]["created"]] == [1]
    finally:
        assert await group.astop(10)
    assert group.snapshot()[0]["state"] == "stopped" and not group.healthy
    store.dispose()


async def test_kafka_consumer_reports_lag(tmp_path: Path, tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=2)
    await tansu.produce(topic, [{"id": i, "name": f"p{i}"} for i in range(10)])
    read = kafka_read(topic)
    project, store = open_project(write_project(tmp_path, kafka_source(tansu.bootstrap), read))
    consumer = PipelineConsumer(project, store, "people", ConsumeOptions(run_window=0.5))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    try:
        await eventually(lambda: store.count_objects("crm", "person") == 10, 30)
        await eventually(lambda: consumer.snapshot()["lag"] == {f"{topic}[0]": 0, f"{topic}[1]": 0})
        await eventually(lambda: consumer.snapshot()["messages"]["acked"] == 10)
        snap = consumer.snapshot()
        assert snap["group"] == read["group"] and snap["healthy"] and snap["connected"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    store.dispose()


def test_consume_refuses_what_cannot_be_consumed(tmp_path: Path) -> None:
    files = {"type": "files", "location": str(tmp_path)}
    path = write_project(tmp_path, files, {"path": "*.json"})
    done = subprocess.run(
        [*CLI, "consume", "people", "-c", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "reads from a 'files' source, which cannot be consumed continuously" in " ".join(
        done.stderr.split()
    )

    path = write_project(
        tmp_path, rabbit_source(), {"queue": "q"}, triggers=[{"consume": {"run_window": -1}}]
    )
    project, store = open_project(path)
    with pytest.raises(
        NotConsumable, match=r"people.triggers consume.run_window: Input should be greater than 0"
    ):
        PipelineConsumer(project, store, "people")
    store.dispose()
    done = subprocess.run([*CLI, "consume", "-c", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "run_window" in done.stderr


async def test_a_quiet_run_keeps_its_lock(tmp_path: Path, rabbit: Rabbit, queue: str) -> None:
    project, store = open_project(write_project(tmp_path, rabbit_source(), {"queue": queue}))
    consumer = PipelineConsumer(project, store, "people", ConsumeOptions(run_window=2.0, lock_ttl=0.4))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    runlog = RunLog(store.engine)
    try:
        await rabbit.publish(queue, [{"id": 1, "name": "Ann"}])
        await eventually(lambda: store.count_objects("crm", "person") == 1)
        holder = runlog.running("people")
        assert holder is not None
        await asyncio.sleep(1.0)  # no batches meanwhile, well past the lock's 0.4 s
        assert runlog.running("people") == holder and consumer.state == "running"
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert runlog.running("people") is None
    store.dispose()
