"""A GraphQL source through the whole pipeline: errors next to partial data keep the records and
make the run partial, so nothing is deleted on the strength of an incomplete read."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

from openconnector.config import load_project
from openconnector.pipelines import run_pipeline
from openconnector.registers import Store
from tests.connectors.graphql.conftest import RELAY_QUERY, Api

SCHEMA = """{"type": "object", "required": ["name", "city"],
 "properties": {"name": {"type": "string"}, "city": {"type": "string"},
                "email": {"type": ["string", "null"]}}}"""


def project(tmp_path: Path, url: str) -> Any:
    (tmp_path / "person.json").write_text(SCHEMA)
    (tmp_path / "people.graphql").write_text(RELAY_QUERY)
    (tmp_path / "openconnector.yaml").write_text(
        textwrap.dedent(f"""
        registers:
          crm: {{schemas: {{person: person.json}}}}
        sources:
          people-api:
            type: graphql
            location: {url}
            retries: 1
            backoff: 0.01
        mappings:
          person:
            mapping: {{name: name, city: address.city, email: email}}
        pipelines:
          people:
            source: people-api
            read:
              query: "@{tmp_path / "people.graphql"}"
              pagination: {{type: relay, connection: people, size: 10}}
              id: id
            mapping: person
            target: crm/person
            on_missing: delete
        """)
    )
    return load_project(tmp_path / "openconnector.yaml")


def test_partial_data_is_delivered_and_the_run_is_partial(tmp_path: Path, api: Api) -> None:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    p = project(tmp_path, api.url)
    store.sync_registers({"crm": None}, p.schemas)

    first = asyncio.run(run_pipeline(p, store, "people"))
    assert first.status == "ok", first.errors
    assert first.counts["read"] == 25 and first.counts["created"] == 25

    api.state.total = 20  # five people are gone at the source...
    api.state.hidden_emails = {4}  # ...and one field fails: the read is incomplete
    second = asyncio.run(run_pipeline(p, store, "people"))
    assert second.status == "partial", (second.status, second.errors, second.warnings)
    assert second.counts["read"] == 20
    assert second.counts["updated"] == 1 and second.counts["unchanged"] == 19  # p-4 lost its email
    assert second.counts["deleted"] == 0 and store.count_objects("crm", "person") == 25
    assert any("email of p-4 is not visible" in w for w in second.warnings)

    api.state.hidden_emails = set()
    third = asyncio.run(run_pipeline(p, store, "people"))
    assert third.status == "ok" and third.counts["deleted"] == 5
    assert store.count_objects("crm", "person") == 20
