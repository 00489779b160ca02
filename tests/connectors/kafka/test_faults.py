"""Faults with Kafka: the store refusing writes mid-run (no offset commit; the next run reads the same
messages and they land once), undecodable messages to the dead-letter topic, wrong SASL credentials,
and the broker restarting under a running consumer."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from openconnector.consume import ConsumeOptions, PipelineConsumer
from openconnector.pipelines import run_pipeline
from tests.connectors.kafka.broker import Tansu, kafka_read, kafka_source
from tests.connectors.rabbitmq.helpers import open_project, write_project
from tests.connectors.rabbitmq.test_faults import eventually, ids_in, store_recovers, store_refuses


async def test_store_failure_mid_run_rereads_and_lands_once(tmp_path: Path, tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=1)
    await tansu.produce(topic, [{"id": i, "name": f"p{i}"} for i in range(30)])
    project, store = open_project(
        write_project(tmp_path, kafka_source(tansu.bootstrap), kafka_read(topic, batch_size=10))
    )
    store_refuses(tmp_path / "store.db", "json_extract(NEW.data, '$.id') >= 10")
    r1 = await run_pipeline(project, store, "people")
    assert r1.status == "partial" and r1.counts["created"] == 10, (r1.status, r1.counts)
    assert "disk full (test)" in str(r1.errors)

    store_recovers(tmp_path / "store.db")
    r2 = await run_pipeline(project, store, "people")
    assert r2.status == "ok" and r2.counts["read"] == 20 and r2.counts["created"] == 20, r2.counts
    assert ids_in(store) == list(range(30))
    store.dispose()


async def test_undecodable_messages_go_to_the_dead_letter_topic(tmp_path: Path, tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=1)
    dlt = await tansu.create_topic(topic + ".dead", partitions=1)
    await tansu.produce(topic, [b"<not-json/>", {"id": 1, "name": "Ann"}], headers=[("trace", b"t-1")])
    read = kafka_read(topic, format="json", on_undecodable="dead_letter", dead_letter_topic=dlt)
    project, store = open_project(write_project(tmp_path, kafka_source(tansu.bootstrap), read))
    r = await run_pipeline(project, store, "people")
    assert r.status == "ok" and r.counts["created"] == 1 and r.counts["quarantined"] == 0, r.counts

    c = AIOKafkaConsumer(dlt, bootstrap_servers=tansu.bootstrap, group_id=None, auto_offset_reset="earliest")
    await c.start()
    try:
        got = await c.getmany(timeout_ms=3000)
    finally:
        await c.stop()
    dead = [m for msgs in got.values() for m in msgs]
    assert [m.value for m in dead] == [b"<not-json/>"]
    headers = dict(dead[0].headers)
    assert headers["trace"] == b"t-1"
    assert headers["x-openconnector-reason"].startswith(b"undecodable: not valid JSON")
    assert f"{topic}[0]@0".encode() in headers["x-openconnector-source"]
    store.dispose()


async def test_wrong_credentials_are_a_clear_error(tmp_path: Path) -> None:
    broker = Tansu(tmp_path, authentication=True)
    broker.start()
    try:
        for mechanism in ("SCRAM-SHA-256", "PLAIN"):
            auth = {"type": "sasl", "mechanism": mechanism, "username": "app", "password": "n0t-the-password"}
            path = write_project(tmp_path, kafka_source(broker.bootstrap, auth=auth), kafka_read("t"))
            project, store = open_project(path)
            r = await run_pipeline(project, store, "people")
            assert r.status == "failed"
            message = r.errors[0]["message"]
            assert f"SASL {mechanism} login of user 'app'" in message and broker.bootstrap in message, message
            assert "n0t-the-password" not in str(r.as_dict())
            store.dispose()
    finally:
        broker.stop()


async def test_consumer_survives_a_broker_restart(tmp_path: Path, own_tansu: Tansu) -> None:
    topic = await own_tansu.create_topic(partitions=1)
    read = kafka_read(topic, batch_size=50)
    project, store = open_project(write_project(tmp_path, kafka_source(own_tansu.bootstrap), read))
    consumer = PipelineConsumer(
        project,
        store,
        "people",
        ConsumeOptions(run_window=1.0, backoff_initial=0.2, backoff_max=1, lock_ttl=5),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run_forever(stop))
    try:
        await own_tansu.produce(topic, [{"id": i, "name": f"p{i}"} for i in range(5)])
        await eventually(lambda: store.count_objects("crm", "person") == 5, 30)
        own_tansu.restart()  # in-memory broker: the topic and the group's offsets are gone too
        await own_tansu.create_topic(topic, partitions=1)
        await own_tansu.produce(topic, [{"id": i, "name": f"p{i}"} for i in range(5, 8)])
        await eventually(lambda: store.count_objects("crm", "person") == 8, 60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert ids_in(store) == list(range(8))
    store.dispose()
