"""`run` on a RabbitMQ pipeline, through the real engine into a SQLite register: what is available is
consumed and acknowledged, bad messages are quarantined with their raw body (then acknowledged),
metadata reaches the mapping, and a second run over redelivered content changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.rabbitmq import RabbitRead, RabbitSource
from openconnector.pipelines import run_pipeline
from openconnector.registers import RunLog
from tests.connectors.rabbitmq.helpers import Rabbit, open_project, rabbit_source, unique, write_project

MAPPING = {
    "id": "id",
    "name": "name",
    "age": "age",
    "routing_key": "_meta.routing_key",
    "source_system": "_meta.headers.system",
}
SCHEMA = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "age": {"type": "integer"}},
}


async def test_run_consumes_what_is_there_and_acks(
    tmp_path: Path, rabbit: Rabbit, queue: str, reader: str
) -> None:
    await rabbit.publish(
        queue, [{"id": i, "name": f"p{i}", "age": 20 + i} for i in range(25)], headers={"system": "crm"}
    )
    await rabbit.publish(queue, [b"this is not json", {"id": 99, "name": 5}])
    project, store = open_project(
        write_project(
            tmp_path,
            rabbit_source(),
            {"queue": queue, "batch_size": 10, "format": "json", "reader": reader},
            mapping=MAPPING,
        )
    )
    r = await run_pipeline(project, store, "people")
    assert r.status == "ok", r.errors
    assert r.counts["read"] == 27 and r.counts["created"] == 25 and r.counts["quarantined"] == 2, r.counts
    assert await rabbit.count(queue) == 0  # every message acknowledged: stored or quarantined

    q = RunLog(store.engine).quarantined(pipeline="people").results
    by_stage = {e["stage"]: e for e in q}
    assert by_stage["read"]["raw"] == "this is not json"
    assert "not valid JSON" in str(by_stage["read"]["errors"]) and queue in str(by_stage["read"]["errors"])
    assert by_stage["validation"]["raw"] == {"id": 99, "name": 5}
    assert by_stage["validation"]["errors"][0]["path"] == "$.name"

    docs = store.list_objects("crm", "person", limit=100).results
    assert len(docs) == 25
    assert {d["routing_key"] for d in docs} == {queue} and {d["source_system"] for d in docs} == {"crm"}

    # the same content again (a redelivery after a crash looks like this): nothing changes
    await rabbit.publish(queue, [{"id": 3, "name": "p3", "age": 23}], headers={"system": "crm"})
    r2 = await run_pipeline(project, store, "people")
    assert r2.counts["read"] == 1 and r2.counts["unchanged"] == 1 and r2.counts["created"] == 0, r2.counts
    assert store.count_objects("crm", "person") == 25
    store.dispose()


async def test_run_on_an_empty_queue_reads_nothing_and_returns(
    tmp_path: Path, rabbit: Rabbit, queue: str
) -> None:
    project, store = open_project(write_project(tmp_path, rabbit_source(), {"queue": queue}))
    r = await run_pipeline(project, store, "people")
    assert r.counts["read"] == 0 and r.status == "ok"
    assert r.duration_s is not None and r.duration_s < 5
    store.dispose()


async def test_formats_records_path_and_meta(tmp_path: Path, rabbit: Rabbit, queue: str) -> None:
    xml = b"<people><person><id>1</id><name>Ann</name></person><person><id>2</id><name>Bob</name></person>"
    xml += b"</people>"
    csv = b"id;name\n3;Cy\n4;Di\n"
    await rabbit.publish(queue, [xml], content_type="application/xml", message_id="m-xml")
    await rabbit.publish(queue, [csv], content_type="text/csv", message_id="m-csv")
    await rabbit.publish(queue, [{"data": {"people": [{"id": "5", "name": "Ed"}]}}], message_id="m-json")
    read = {"queue": queue, "records": "people.person", "csv": {"delimiter": ";"}}
    cls = get_connector("rabbitmq")
    conn = cls("mq", cls.Source.model_validate(rabbit_source()))
    got: list[tuple[dict[str, Any], dict[str, Any]]] = []
    async with conn:
        async for batch in conn.read(cls.Read.model_validate(read), ReadContext(pipeline="t")):
            got.extend(zip(batch.records, batch.meta or [], strict=True))
            assert [e.error for e in batch.errors] == [
                "the message has nothing at 'people.person' (read.records)"
            ]
            assert batch.ack is not None
            await batch.ack()
    assert [r for r, _ in got] == [
        {"id": "1", "name": "Ann"},
        {"id": "2", "name": "Bob"},
        {"id": "3", "name": "Cy"},
        {"id": "4", "name": "Di"},
    ]
    metas = [m for _, m in got]
    assert [m.get("index") for m in metas] == [0, 1, 0, 1]
    assert metas[0]["message_id"] == "m-xml" and metas[2]["message_id"] == "m-csv"
    assert metas[0]["queue"] == queue and metas[0]["routing_key"] == queue and metas[0]["exchange"] == ""
    assert await rabbit.count(queue) == 0


async def test_declares_queue_exchange_and_bindings(tmp_path: Path, rabbit: Rabbit) -> None:
    queue, exchange = unique(), unique("oc-ex")
    rabbit.created += [queue, f"{queue}.dead"]
    read = {"queue": queue, "declare": True, "exchange": exchange, "binding_keys": ["person.*"]}
    project, store = open_project(write_project(tmp_path, rabbit_source(), read))
    r = await run_pipeline(project, store, "people")  # declares; nothing there yet
    assert r.status == "ok" and r.counts["read"] == 0
    await rabbit.publish("person.created", [{"id": 1, "name": "Ann"}], exchange=exchange)
    await rabbit.publish("order.created", [{"id": 2, "name": "not for us"}], exchange=exchange)
    r = await run_pipeline(project, store, "people")
    assert r.counts["created"] == 1, r.counts
    async with rabbit.connection.channel() as ch:
        await ch.exchange_delete(exchange)
    store.dispose()


async def test_missing_queue_and_wrong_credentials_are_clear(tmp_path: Path, rabbit: Rabbit) -> None:
    cls = get_connector("rabbitmq")
    conn = cls("mq", cls.Source.model_validate(rabbit_source()))
    read = cls.Read.model_validate({"queue": unique("oc-missing")})
    with pytest.raises(ConnectorError, match=r"does not exist in vhost '/'.*declare: true"):
        async with conn:
            async for _ in conn.read(read, ReadContext(pipeline="t")):
                pass

    bad = rabbit_source(auth={"type": "basic", "username": "guest", "password": "s3cret-wrong"})
    project, store = open_project(write_project(tmp_path, bad, {"queue": "whatever"}))
    r = await run_pipeline(project, store, "people")
    assert r.status == "failed"
    message = r.errors[0]["message"]
    assert "refused the login of user 'guest'" in message and "127.0.0.1:5672" in message
    assert "s3cret-wrong" not in str(r.as_dict()) and "s3cret-wrong" not in repr(project.sources["mq"])
    store.dispose()


def test_config_errors_say_what_is_wrong() -> None:
    cls = get_connector("rabbitmq")
    with pytest.raises(ValueError, match="amqp:// or amqps://"):
        cls.Source.model_validate({"type": "rabbitmq", "location": "http://x"})
    src = RabbitSource.model_validate({"type": "rabbitmq", "location": "amqps://bob:pw@mq.example.org/prod"})
    assert src.location == "amqps://mq.example.org/prod" and "pw" not in repr(src)
    assert src.address.port == 5671 and src.address.vhost == "prod" and src.tls_options is not None
    with pytest.raises(ValueError, match=r"needs read\.declare: true"):
        cls.Read.model_validate({"queue": "q", "exchange": "ex"})
    with pytest.raises(ValueError, match="unknown encoding"):
        cls.Read.model_validate({"queue": "q", "encoding": "klingon"})
    assert RabbitRead.model_validate({"path": "q", "batch_size": 500}).prefetch_count == 1000
    with pytest.raises(ValueError, match="'auto', 'thread' or 'process'"):
        cls.Read.model_validate({"queue": "q", "reader": "fork"})
