"""A REST source through the whole pipeline, against real HTTP servers on 127.0.0.1.

The REST connector's own behaviour (every pagination kind, every auth kind, retries) is tested in
tests/connectors/rest; here the point is what the engine makes of it: counts, partial runs that
delete nothing, HTML or truncated bodies that crash nothing and lose nothing.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openconnector.config import load_project
from openconnector.demo import DemoServer
from openconnector.pipelines import run_pipeline
from openconnector.registers import RunLog, Store
from tests.connectors.http.server import HttpTestServer, Request, Response

SCHEMA = """{"type": "object", "required": ["name", "email"],
 "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"},
                "city": {"type": "string"}}}"""


def project(tmp_path: Path, url: str, read: str = "", pipeline: str = "") -> Any:
    (tmp_path / "person.json").write_text(SCHEMA)
    (tmp_path / "openconnector.yaml").write_text(
        textwrap.dedent(f"""
        registers:
          crm: {{schemas: {{person: person.json}}}}
        sources:
          api:
            type: rest
            location: {url}
            retries: 2
            backoff: 0.01
        mappings:
          person:
            mapping:
              name: "{{{{ first_name }}}} {{{{ last_name }}}}"
              email: email
              city: address.city
        pipelines:
          people:
            source: api
            read:
              path: /people
              records: data
              id: id
              pagination: {{type: page, param: page, size_param: per_page, size: 50}}
        {textwrap.indent(textwrap.dedent(read), "      ")}
            mapping: person
            target: crm/person
        {textwrap.indent(textwrap.dedent(pipeline), "    ")}
        """)
    )
    return load_project(tmp_path / "openconnector.yaml")


def run(p: Any, store: Store) -> Any:
    store.sync_registers({"crm": None}, p.schemas)
    return asyncio.run(run_pipeline(p, store, "people"))


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer(records=230) as server:
        yield server


def test_demo_source_lands_every_record_then_nothing_changes(
    tmp_path: Path, store: Store, demo: DemoServer
) -> None:
    p = project(tmp_path, demo.base_url, pipeline="on_missing: delete\n")
    first = run(p, store)
    assert first.status == "ok", first.errors
    assert first.counts["read"] == 230 and first.counts["created"] == 230
    assert store.count_objects("crm", "person") == 230
    second = run(p, store)
    assert second.counts["unchanged"] == 230 and second.counts["deleted"] == 0
    demo.set_revision(1)
    third = run(p, store)
    assert third.counts["updated"] > 0 and third.counts["updated"] + third.counts["unchanged"] == 230


class Flaky:
    """A source whose page 3 fails (or answers garbage) after a first good run."""

    def __init__(self, records: int = 200) -> None:
        self.people = [
            {
                "id": i,
                "first_name": f"F{i}",
                "last_name": "L",
                "email": f"p{i}@example.org",
                "address": {"city": "Utrecht"},
            }
            for i in range(records)
        ]
        self.mode = "ok"
        self.server = HttpTestServer()
        self.server.route("/people")(self.page)

    def page(self, req: Request) -> Response:
        page, size = req.int_arg("page", 1), req.int_arg("per_page", 50)
        if page == 3 and self.mode == "500":
            return Response(500, b"internal error")
        if page == 3 and self.mode == "html":
            return Response(200, b"<html><body>Login</body></html>", {"Content-Type": "text/html"})
        if page == 3 and self.mode == "truncated":
            return Response(200, b'{"data": [{"id": 1', {"Content-Type": "application/json"})
        if page == 3 and self.mode == "no-records-path":
            return Response.json({"items": []})
        return Response.json({"data": self.people[(page - 1) * size : page * size]})


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    source = Flaky()
    with source.server:
        yield source


@pytest.mark.parametrize("mode", ["500", "html", "truncated", "no-records-path"])
def test_bad_page_makes_run_partial_and_deletes_nothing(
    tmp_path: Path, store: Store, flaky: Flaky, mode: str
) -> None:
    p = project(tmp_path, flaky.server.base_url, pipeline="on_missing: delete\n")
    assert run(p, store).counts["created"] == 200
    flaky.mode = mode
    r = run(p, store)
    assert r.status == "partial", (r.status, r.errors)
    assert "page 3" in r.errors[0]["message"]
    assert r.counts["read"] == 100 and r.counts["unchanged"] == 100  # pages 1 and 2
    assert r.counts["deleted"] == 0 and store.count_objects("crm", "person") == 200
    assert RunLog(store.engine).get(r.id)["status"] == "partial"


def test_max_pages_is_partial(tmp_path: Path, store: Store, flaky: Flaky) -> None:
    p = project(tmp_path, flaky.server.base_url, read="max_pages: 2\n", pipeline="on_missing: delete\n")
    r = run(p, store)
    assert r.status == "partial" and r.counts["created"] == 100 and r.warnings


def test_records_without_id_and_invalid_records_are_quarantined(
    tmp_path: Path, store: Store, flaky: Flaky
) -> None:
    del flaky.people[5]["id"]
    flaky.people[7]["email"] = "not an email"
    r = run(project(tmp_path, flaky.server.base_url), store)
    assert r.status == "ok"
    assert r.counts["created"] == 198 and r.counts["quarantined"] == 2
    q = RunLog(store.engine).quarantined(pipeline="people")
    assert {item["stage"] for item in q.results} == {"read", "validation"}
    assert any(item["raw"].get("email") == "not an email" for item in q.results)
