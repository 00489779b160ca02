"""`run` on a Kafka pipeline against a real broker (Tansu), through the engine into SQLite: what is in
the topic is read up to its end and committed, bad messages are quarantined (and their offsets
committed), key/partition/offset/headers reach the mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from openconnector.connectors import get_connector
from openconnector.connectors.base import ReadContext
from openconnector.connectors.kafka import KafkaRead, KafkaSource
from openconnector.pipelines import run_pipeline
from openconnector.registers import RunLog
from tests.connectors.kafka.broker import Tansu, kafka_read, kafka_source
from tests.connectors.rabbitmq.helpers import open_project, write_project

MAPPING = {
    "id": "id",
    "name": "name",
    "key": "_meta.key",
    "partition": "_meta.partition",
    "offset": "_meta.offset",
    "system": "_meta.headers.system",
}


async def committed(tansu: Tansu, group: str, topic: str, partitions: int) -> list[int | None]:
    c = AIOKafkaConsumer(bootstrap_servers=tansu.bootstrap, group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        return [await c.committed(TopicPartition(topic, p)) for p in range(partitions)]
    finally:
        await c.stop()


async def test_run_reads_to_the_end_and_commits(tmp_path: Path, tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=3)
    await tansu.produce(topic, [{"id": i, "name": f"p{i}"} for i in range(40)], headers=[("system", b"crm")])
    await tansu.produce(topic, [b"{broken json", {"id": 99, "name": 5}], partition=0)
    read = kafka_read(topic, batch_size=10)
    project, store = open_project(
        write_project(tmp_path, kafka_source(tansu.bootstrap), read, mapping=MAPPING)
    )
    r = await run_pipeline(project, store, "people")
    assert r.status == "ok", r.errors
    assert r.counts["read"] == 42 and r.counts["created"] == 40 and r.counts["quarantined"] == 2, r.counts

    q = {e["stage"]: e for e in RunLog(store.engine).quarantined(pipeline="people").results}
    assert q["read"]["raw"] == "{broken json" and "not valid JSON" in str(q["read"]["errors"])
    assert f"{topic}[0]@" in str(q["read"]["errors"])
    assert q["validation"]["errors"][0]["path"] == "$.name"

    docs = store.list_objects("crm", "person", limit=100).results
    assert {d["system"] for d in docs} == {"crm"} and {d["partition"] for d in docs} <= {0, 1, 2}
    assert all(d["key"] == str(d["id"]) and isinstance(d["offset"], int) for d in docs)
    done = await committed(tansu, read["group"], topic, 3)
    assert sum(c or 0 for c in done) == 42  # every offset committed, the quarantined ones too

    r2 = await run_pipeline(project, store, "people")
    assert r2.counts["read"] == 0 and r2.duration_s is not None and r2.duration_s < 10
    store.dispose()


async def test_start_latest_skips_the_backlog_once(tmp_path: Path, tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=1)
    for i in range(3):  # one batch each: Tansu's ListOffsets(latest) is off within a multi-record batch
        await tansu.produce(topic, [{"id": i, "name": "old"}])
    read = kafka_read(topic, start="latest")
    project, store = open_project(write_project(tmp_path, kafka_source(tansu.bootstrap), read))
    assert (await run_pipeline(project, store, "people")).counts["read"] == 0
    await tansu.produce(topic, [{"id": 10, "name": "new"}, {"id": 11, "name": "new"}])
    r = await run_pipeline(project, store, "people")  # the group's position was kept: nothing missed
    assert r.counts["created"] == 2, r.counts
    store.dispose()


async def test_pattern_records_path_and_csv(tmp_path: Path, tansu: Tansu) -> None:
    prefix = (await tansu.create_topic(partitions=1)) + "-"
    a = await tansu.create_topic(prefix + "a", partitions=1)
    b = await tansu.create_topic(prefix + "b", partitions=1)
    await tansu.produce(a, [{"batch": {"items": [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]}}])
    await tansu.produce(b, [{"batch": {"items": {"id": 3, "name": "Cy"}}}, {"other": 1}])
    cls = get_connector("kafka")
    conn = cls("k", cls.Source.model_validate(kafka_source(tansu.bootstrap)))
    read = cls.Read.model_validate(
        {**kafka_read(prefix), "topic": None, "pattern": f"^{prefix}.*", "records": "batch.items"}
    )
    records, metas, errors = [], [], []
    async with conn:
        async for batch in conn.read(read, ReadContext(pipeline="t")):
            records += batch.records
            metas += batch.meta or []
            errors += batch.errors
            assert batch.ack is not None
            await batch.ack()
    assert sorted(r["id"] for r in records) == [1, 2, 3]
    assert sorted((m["topic"], m.get("index")) for m in metas) == [(a, 0), (a, 1), (b, None)]
    assert [e.error for e in errors] == ["the message has nothing at 'batch.items' (read.records)"]

    csv_topic = await tansu.create_topic(partitions=1)
    await tansu.produce(csv_topic, [b"id,name\n1,Ann\n2,Bob\n", b"id,name\n3\n"])
    read = cls.Read.model_validate({**kafka_read(csv_topic), "format": "csv"})
    conn = cls("k", cls.Source.model_validate(kafka_source(tansu.bootstrap)))
    async with conn:
        batches = [b async for b in conn.read(read, ReadContext(pipeline="t"))]
    assert [r for b in batches for r in b.records] == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob"}]
    assert [e.error for b in batches for e in b.errors] == ["CSV row 1 has 1 fields, the header has 2"]


def test_config_errors_say_what_is_wrong() -> None:
    cls = get_connector("kafka")
    with pytest.raises(ValueError, match="not host:port"):
        cls.Source.model_validate({"type": "kafka", "location": "kafka://broker"})
    with pytest.raises(ValueError, match="not supported by kafka; use sasl"):
        cls.Source.model_validate(
            {
                "type": "kafka",
                "location": "b:9092",
                "auth": {"type": "basic", "username": "u", "password": "p"},
            }
        )
    with pytest.raises(ValueError, match=r"exactly one of read\.topics"):
        cls.Read.model_validate({"topics": ["a"], "pattern": "b.*"})
    with pytest.raises(ValueError, match=r"needs read\.dead_letter_topic"):
        cls.Read.model_validate({"topic": "a", "on_undecodable": "dead_letter"})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        cls.Read.model_validate({"pattern": "("})
    src = KafkaSource.model_validate(
        {
            "type": "kafka",
            "location": "kafkas://a:9093,b:9093",
            "auth": {"type": "sasl", "username": "u", "password": "pw"},
        }
    )
    assert src.servers == ["a:9093", "b:9093"] and src.tls_options is not None and "pw" not in repr(src)
    assert KafkaRead.model_validate({"topic": "x"}).group_id("people") == "openconnector.people"
