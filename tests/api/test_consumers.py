"""`serve` runs the queue consumers: a pipeline with a `consume` trigger lands messages as they
arrive, `/readyz` and `/metrics` report the consumers, a configuration change restarts them, and
shutdown stops them after the batch in hand. Against the real RabbitMQ on 127.0.0.1:5672."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from openconnector.api import ServiceOptions
from tests.connectors.kafka.broker import Tansu, kafka_read, kafka_source
from tests.connectors.rabbitmq.helpers import (
    Rabbit,
    children,
    rabbit_source,
    unique,
    wait_until,
    write_project,
)
from tests.triggers.service import Server, start_server


@pytest.fixture
async def rabbit() -> AsyncIterator[Rabbit]:
    r = await Rabbit.connect()
    yield r
    await r.close()


def serve(path: Path) -> Server:
    url = f"sqlite:///{path.parent / 'store.db'}"
    return start_server(path, ServiceOptions(database_url=url, scheduler=False, shutdown_timeout_s=10))


def landed(srv: Server) -> int:
    return srv.service.store.count_objects("crm", "person")


@pytest.mark.parametrize("reader", ["thread", "process"])
async def test_serve_consumes_reports_and_stops(tmp_path: Path, rabbit: Rabbit, reader: str) -> None:
    queue = unique()
    await rabbit.declare(queue)
    read = {"queue": queue, "batch_size": 20, "reader": reader}
    path = write_project(tmp_path, rabbit_source(), read, triggers=[{"consume": {"run_window": 0.5}}])
    srv = serve(path)
    try:
        with srv.client(None) as probe:
            await wait_until(lambda: probe.get("/readyz").status_code == 200, "the consumer to connect")
            ready = probe.get("/readyz").json()
            assert ready["status"] == "ready"
            assert [(c["pipeline"], c["type"], c["state"]) for c in ready["consumers"]] == [
                ("people", "rabbitmq", "waiting")
            ]
            await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(50)])
            await wait_until(lambda: landed(srv) == 50, "50 messages to land")
            await wait_until(
                lambda: 'outcome="acked",pipeline="people"} 50.0' in probe.get("/metrics").text, "acks"
            )
            assert (
                'openconnector_consumer_up{pipeline="people",type="rabbitmq"} 1.0'
                in probe.get("/metrics").text
            )
            await wait_until(  # a run is counted when its window closes
                lambda: (
                    'openconnector_runs_total{pipeline="people",status="ok",trigger="consume"}'
                    in probe.get("/metrics").text
                ),
                "the consume runs in the metrics",
            )
        with srv.client("viewer") as api:
            runs = api.get("/api/runs", params={"pipeline": "people"}).json()["results"]
            assert {r["trigger"] for r in runs} == {"consume"}
            assert sum(r["counts"]["created"] for r in runs) == 50
        relays = children(os.getpid(), "rabbitmq.relay")
        assert len(relays) == (1 if reader == "process" else 0)
        await rabbit.publish(queue, [{"id": i, "name": f"p{i}"} for i in range(50, 60)])
    finally:
        srv.stop()  # the batch in hand is stored and acknowledged first
    # each of the last 10 is stored and acknowledged, or back in the queue: never both, never lost
    # (the broker requeues what a closed connection held a moment after the close)
    total = 0
    for _ in range(100):
        total = landed(srv) + await rabbit.count(queue)
        if total >= 60:
            break
        await asyncio.sleep(0.05)
    assert total == 60
    assert children(os.getpid(), "rabbitmq.relay") == []


async def test_a_consumer_that_cannot_connect_makes_the_server_not_ready(tmp_path: Path) -> None:
    source = rabbit_source(location="amqp://127.0.0.1:1/", connect_timeout=1)
    path = write_project(tmp_path, source, {"queue": unique()}, triggers=[{"consume": {"backoff_max": 0.5}}])
    srv = serve(path)
    try:
        with srv.client(None) as probe:
            await wait_until(lambda: probe.get("/readyz").status_code == 503, "the probe to fail")
            body = probe.get("/readyz").json()["error"]
            assert body["code"] == "consumer_not_connected"
            assert body["message"].startswith("not connected: people (")
            assert [c["pipeline"] for c in body["details"]] == ["people"]
            assert "127.0.0.1:1" not in str(body)  # no error texts on an unauthenticated probe
            assert (
                'openconnector_consumer_up{pipeline="people",type="rabbitmq"} 0.0'
                in probe.get("/metrics").text
            )
    finally:
        srv.stop()


async def test_a_changed_configuration_restarts_the_consumers(tmp_path: Path, rabbit: Rabbit) -> None:
    first, second = unique(), unique()
    for q in (first, second):
        await rabbit.declare(q)
    triggers = [{"consume": {"run_window": 0.5}}]
    path = write_project(tmp_path, rabbit_source(), {"queue": first}, triggers=triggers)
    srv = serve(path)
    try:
        await rabbit.publish(first, [{"id": 1, "name": "Ann"}])
        await wait_until(lambda: landed(srv) == 1, "the first queue's message")
        config = yaml.safe_load(path.read_text())
        config["pipelines"]["people"]["read"]["queue"] = second
        path.write_text(yaml.safe_dump(config))
        srv.service.config.reload()
        await rabbit.publish(second, [{"id": 2, "name": "Bob"}])
        await wait_until(lambda: landed(srv) == 2, "the second queue's message")
        snaps = srv.service.consumer_snapshots()
        assert [s["queue"] for s in snaps] == [second]
        # a reload that changes nothing the consumers use leaves them alone
        group = srv.service.consumers
        srv.service.config.reload()
        time.sleep(0.3)
        assert srv.service.consumers is group
    finally:
        srv.stop()


async def test_serve_consumes_kafka_and_reports_the_lag(tmp_path: Path, tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=1)
    await tansu.produce(topic, [{"id": i, "name": f"p{i}"} for i in range(30)])
    read = kafka_read(topic, start="earliest")
    path = write_project(
        tmp_path, kafka_source(tansu.bootstrap), read, triggers=[{"consume": {"run_window": 0.5}}]
    )
    srv = serve(path)
    try:
        await wait_until(lambda: landed(srv) == 30, "30 messages to land")
        with srv.client(None) as probe:
            await wait_until(lambda: probe.get("/readyz").status_code == 200, "the consumer to be ready")
            assert probe.get("/readyz").json()["consumers"][0]["type"] == "kafka"
            await wait_until(
                lambda: (
                    f'openconnector_consumer_lag{{partition="{topic}[0]",pipeline="people"}} 0.0'
                    in probe.get("/metrics").text
                ),
                "the lag of the partition, caught up",
            )
    finally:
        srv.stop()
