"""Service fixtures: a project on disk, a real uvicorn server on a free 127.0.0.1 port, tokens.

Shared by tests/api and tests/triggers (their conftest files import the fixtures)."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from openconnector.api import Service, ServiceOptions, create_app
from tests.triggers.gated import GatedConnector

SCHEMA = """
{"type": "object", "required": ["name", "age"],
 "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
                "city": {"type": "string"}, "active": {"type": "boolean"}}}
"""

HOOK_SECRET = "s3cret-hook-key"
SOURCE_TOKEN = "very-secret-source-token"

CONFIG = f"""
registers:
  crm:
    description: People
    schemas:
      person: person.json
sources:
  mem:
    type: gated
    auth: {{type: bearer, token: {SOURCE_TOKEN}}}
  inbox:
    type: webhook
  env-src:
    type: gated
    auth: {{type: basic, username: u, password: "${{OC_TEST_SOURCE_PASSWORD}}"}}
mappings:
  people:
    mapping:
      name: "{{{{ first }}}} {{{{ last }}}}"
      age: age
      city: address.city
    cast: {{age: int}}
pipelines:
  people:
    source: mem
    read: {{dataset: people, gate: people, batch_size: 50}}
    mapping: people
    target: crm/person
  hooked:
    source: inbox
    read: {{records: data, id: id, batch_size: 1000}}
    mapping: people
    target: crm/person
    triggers:
      - webhook: {{secret: {HOOK_SECRET}}}
  pulled:
    source: mem
    read: {{dataset: pulled}}
    mapping: people
    target: crm/person
    triggers:
      - webhook: {{secret: {HOOK_SECRET}}}
  direct:
    source: env-src
    read: {{dataset: direct}}
    target: crm/person
"""


def people(n: int, start: int = 0, **over: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "first": f"F{i}",
            "last": f"L{i}",
            "age": str(20 + i % 50),
            "address": {"city": "Utrecht"},
            **over,
        }
        for i in range(start, start + n)
    ]


def write_project(folder: Path, config: str = CONFIG) -> Path:
    (folder / "person.json").write_text(SCHEMA)
    path = folder / "openconnector.yaml"
    path.write_text(textwrap.dedent(config))
    return path


@dataclass
class Server:
    url: str
    service: Service
    uvicorn: uvicorn.Server
    thread: threading.Thread
    tokens: dict[str, str]

    def client(self, role: str | None = "admin", **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's event loop (where the dispatcher lives)."""
        assert self.service.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.service.loop).result(timeout)

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the server did not stop"


def start_server(config_path: Path, options: ServiceOptions) -> Server:
    service = Service(config_path, options)
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    tokens = {
        role: service.tokens.create(f"test-{role}", role).token for role in ("admin", "operator", "viewer")
    }
    return Server(f"http://127.0.0.1:{port}", service, server, thread, tokens)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OC_TEST_SOURCE_PASSWORD", "env-password-value")
    GatedConnector.DATA.clear()
    GatedConnector.GATES.clear()
    GatedConnector.ENTERED.clear()


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return write_project(tmp_path)


@pytest.fixture
def server(project_path: Path, store_url: str) -> Iterator[Server]:
    srv = start_server(
        project_path, ServiceOptions(database_url=store_url, scheduler=False, shutdown_timeout_s=5)
    )
    try:
        yield srv
    finally:
        for event in GatedConnector.GATES.values():
            event.set()
        srv.stop()
