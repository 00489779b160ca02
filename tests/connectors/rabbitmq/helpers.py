"""Test helpers for queue sources: a project on disk around one queue source, and publishing to the
real RabbitMQ on 127.0.0.1:5672 (guest/guest)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import yaml

from openconnector.config import Project, load_project
from openconnector.registers import Store

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"

PERSON = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "age": {"type": "integer"}},
}


def write_project(
    tmp_path: Path,
    source: dict[str, Any],
    read: dict[str, Any],
    *,
    mapping: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
    triggers: list[Any] | None = None,
    database_url: str | None = None,
) -> Path:
    (tmp_path / "person.json").write_text(orjson.dumps(schema or PERSON).decode())
    config: dict[str, Any] = {
        "registers": {"crm": {"schemas": {"person": "person.json"}}},
        "sources": {"mq": source},
        "pipelines": {"people": {"source": "mq", "read": read, "target": "crm/person"}},
    }
    if mapping is not None:
        config["mappings"] = {"m": {"mapping": mapping}}
        config["pipelines"]["people"]["mapping"] = "m"
    if triggers is not None:
        config["pipelines"]["people"]["triggers"] = triggers
    if database_url is not None:
        config["settings"] = {"database_url": database_url}
    path = tmp_path / "openconnector.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def open_project(path: Path, store_url: str | None = None) -> tuple[Project, Store]:
    project = load_project(path)
    store = Store(store_url or f"sqlite:///{path.parent / 'store.db'}")
    store.sync_registers({"crm": None}, project.schemas)
    return project, store


def rabbit_source(**kw: Any) -> dict[str, Any]:
    return {
        "type": "rabbitmq",
        "location": "amqp://127.0.0.1:5672/",
        "auth": {"type": "basic", "username": "guest", "password": "guest"},
        **kw,
    }


def unique(prefix: str = "oc-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Rabbit:
    """The test's own connection: declares, publishes, inspects and deletes queues."""

    def __init__(self, connection: aio_pika.abc.AbstractConnection) -> None:
        self.connection = connection
        self.created: list[str] = []

    @classmethod
    async def connect(cls) -> Rabbit:
        return cls(await aio_pika.connect(AMQP_URL))

    async def declare(self, queue: str, *, quorum: bool = True) -> None:
        async with self.connection.channel() as ch:
            args: dict[str, Any] = {"x-queue-type": "quorum" if quorum else "classic"}
            await ch.declare_queue(queue, durable=True, arguments=args)
        self.created += [queue, f"{queue}.dead"]

    async def publish(self, queue: str, bodies: list[Any], *, exchange: str = "", **props: Any) -> None:
        async with self.connection.channel() as ch:
            target = ch.default_exchange if not exchange else await ch.get_exchange(exchange)
            for body in bodies:
                raw = body if isinstance(body, bytes) else orjson.dumps(body)
                await target.publish(aio_pika.Message(raw, **props), routing_key=queue)

    async def load(self, queue: str, bodies: list[Any]) -> None:
        """Publish many quickly and return once the queue holds them all.

        Confirms stay on (a quorum queue may drop what it was sent unconfirmed when it is busy, as a
        loaded CI machine showed), but a thousand publishes are in flight at once, not one."""
        async with self.connection.channel() as ch:
            for start in range(0, len(bodies), 1000):
                await asyncio.gather(
                    *(
                        ch.default_exchange.publish(aio_pika.Message(orjson.dumps(b)), routing_key=queue)
                        for b in bodies[start : start + 1000]
                    )
                )
        for _ in range(600):
            if await self.count(queue) >= len(bodies):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"queue {queue} did not fill up to {len(bodies)} messages")

    async def count(self, queue: str) -> int:
        async with self.connection.channel() as ch:
            q = await ch.declare_queue(queue, passive=True)
            return int(q.declaration_result.message_count or 0)

    async def get_all(self, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        out = []
        async with self.connection.channel() as ch:
            q = await ch.declare_queue(queue, passive=True)
            while (msg := await q.get(fail=False, no_ack=True)) is not None:
                out.append(msg)
        return out

    async def close(self) -> None:
        for queue in self.created:
            try:
                async with self.connection.channel() as ch:
                    await ch.queue_delete(queue)
            except Exception:
                pass
        await self.connection.close()


def close_connections(name_part: str) -> int:
    """Close, from the server side, the connections whose client name contains ``name_part``
    (``rabbitmqctl close_connection``: what a broker restart looks like to the client)."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    closed = 0
    for line in out.splitlines():
        if name_part in line:
            pid = line.split("\t", 1)[0]
            subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", pid, "test: broker going away"],
                check=True,
                capture_output=True,
                timeout=30,
            )
            closed += 1
    return closed


async def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def children(pid: int, module: str) -> list[int]:
    """The live child processes of ``pid`` running ``module`` (``python -m ...``), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, ppid = (entry / "stat").read_text().split(") ", 1)[1].split()[:2]
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, ValueError):
                continue
            if int(ppid) == pid and state != "Z" and module.encode() in cmdline:
                found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent counts as gone)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().split(") ", 1)[1][0] == "Z"
    except FileNotFoundError:
        return True
