"""Producing through ``write()``: one JSON message per record, keyed by the record's key, with the
target's headers; the result says where each landed."""

from __future__ import annotations

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError
from tests.connectors.kafka.broker import Tansu, kafka_source


async def test_write_produces_json_with_key_and_headers(tansu: Tansu) -> None:
    topic = await tansu.create_topic(partitions=1)
    cls = get_connector("kafka")
    records = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]
    async with cls("k", cls.Source.model_validate(kafka_source(tansu.bootstrap))) as conn:
        out = await conn.write({"topic": topic, "key": "id", "headers": {"origin": "openconnector"}}, records)
        assert out == [
            {"topic": topic, "partition": 0, "offset": 0},
            {"topic": topic, "partition": 0, "offset": 1},
        ]
        with pytest.raises(ConnectorError, match="record 1 has no key at 'ref'"):
            await conn.write({"topic": topic, "key": "ref"}, [{"ref": "a"}, {"id": 3}])
        with pytest.raises(ConnectorError, match="kafka write target"):
            await conn.write({"key": "id"}, records)
    c = AIOKafkaConsumer(
        topic, bootstrap_servers=tansu.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await c.start()
    try:
        got = [m for msgs in (await c.getmany(timeout_ms=3000)).values() for m in msgs]
    finally:
        await c.stop()
    assert [orjson.loads(m.value) for m in got][:2] == records
    assert [m.key for m in got][:2] == [b"1", b"2"]
    assert dict(got[0].headers) == {"origin": b"openconnector"}
