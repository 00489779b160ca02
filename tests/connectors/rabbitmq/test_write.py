"""Publishing through ``write()``: one persistent JSON message per record, with the record's key as
message id (and routing key) and the target's headers; an unroutable message is an error."""

from __future__ import annotations

import orjson
import pytest

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError
from tests.connectors.rabbitmq.helpers import Rabbit, rabbit_source, unique


async def test_write_publishes_json_with_key_and_headers(rabbit: Rabbit, queue: str) -> None:
    cls = get_connector("rabbitmq")
    records = [{"id": 1, "name": "Ann", "address": {"city": "Utrecht"}}, {"id": 2, "name": "Bob"}]
    async with cls("mq", cls.Source.model_validate(rabbit_source())) as conn:
        out = await conn.write(
            {"routing_key": queue, "key": "id", "headers": {"origin": "openconnector"}}, records
        )
        assert out == [
            {"exchange": "", "routing_key": queue, "message_id": "1"},
            {"exchange": "", "routing_key": queue, "message_id": "2"},
        ]
        with pytest.raises(ConnectorError, match="could not route the message with routing key 'oc-nowhere"):
            await conn.write({"routing_key": unique("oc-nowhere")}, records[:1])
        with pytest.raises(ConnectorError, match="record 0 has no key at 'ref'"):
            await conn.write({"routing_key": queue, "key": "ref"}, records[:1])
        with pytest.raises(ConnectorError, match="give routing_key, or key"):
            await conn.write({"exchange": "amq.topic"}, records)
    got = await rabbit.get_all(queue)
    assert [orjson.loads(m.body) for m in got] == records
    assert [m.message_id for m in got] == ["1", "2"]
    assert all(m.content_type == "application/json" and m.delivery_mode == 2 for m in got)
    assert got[0].headers["origin"] == "openconnector"


async def test_write_keeps_record_order_on_a_fresh_connection(rabbit: Rabbit, queue: str) -> None:
    """The first write opens the publishing channel while every publish waits for it; they must all
    share that one channel, or the queue holds the records out of order."""
    cls = get_connector("rabbitmq")
    records = [{"id": i} for i in range(300)]
    async with cls("mq", cls.Source.model_validate(rabbit_source())) as conn:
        await conn.write({"routing_key": queue}, records)
    got = await rabbit.get_all(queue)
    assert [orjson.loads(m.body)["id"] for m in got] == list(range(300))
