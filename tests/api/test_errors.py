"""Errors are always {"error": {"code", "message", "details"}}: oversized bodies (413, with the
configured limit), unknown routes, and unexpected failures (500, never a stack trace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from openconnector.api import ServiceOptions
from openconnector.triggers import HEADER, sign
from tests.api.test_auth import assert_error
from tests.triggers.service import CONFIG, HOOK_SECRET, Server, people, start_server, write_project


@pytest.fixture
def small_server(tmp_path: Path, store_url: str) -> Iterator[Server]:
    path = write_project(tmp_path, CONFIG + "settings:\n  max_body_bytes: 2000\n")
    srv = start_server(path, ServiceOptions(database_url=store_url, scheduler=False))
    yield srv
    srv.stop()


def test_oversized_bodies_are_413_with_the_configured_limit(small_server: Server) -> None:
    with small_server.client("operator") as c:
        assert small_server.service.max_body_bytes == 2000
        err = assert_error(
            c.post("/api/objects/crm/person", json={"name": "x" * 3000, "age": 1}), 413, "too_large"
        )
        assert "2000 bytes" in err["message"]
        assert c.post("/api/objects/crm/person", json={"name": "x" * 100, "age": 1}).status_code == 201

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams in
            yield b'{"name": "'
            for _ in range(30):
                yield b"y" * 100
            yield b'", "age": 1}'

        r = c.post("/api/objects/crm/person", content=chunks(), headers={"content-type": "application/json"})
        assert_error(r, 413, "too_large")
        body = orjson.dumps({"data": people(40)})
        assert len(body) > 2000
        r = c.post("/hooks/hooked", content=body, headers={HEADER: sign(HOOK_SECRET, body)})
        assert_error(r, 413, "too_large")
        assert c.get("/api/objects/crm/person").json()["total"] == 1  # only the small object
        assert c.get("/api/runs").json()["total"] == 0


def test_the_limit_can_be_set_for_the_server(tmp_path: Path, store_url: str) -> None:
    srv = start_server(
        write_project(tmp_path), ServiceOptions(database_url=store_url, scheduler=False, max_body_bytes=50)
    )
    try:
        with srv.client("operator") as c:
            assert_error(
                c.post("/api/objects/crm/person", json={"name": "z" * 60, "age": 1}), 413, "too_large"
            )
    finally:
        srv.stop()


def test_an_unexpected_failure_is_a_500_without_a_stack_trace(server: Server) -> None:
    with server.service.store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE run_records"))
    with server.client("viewer") as c:
        runs = c.get("/api/runs")  # still fine
        assert runs.status_code == 200
        with server.service.store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE runs"))
        r = c.get("/api/runs")
        err = assert_error(r, 500, "internal_error")
        assert "server log" in err["message"]
        for leak in ("sqlite", "psycopg", "Traceback", "SELECT", "runs"):
            assert leak not in r.text
