"""A SOAP source through the whole pipeline: a fault mid-pagination makes the run partial, deletes nothing."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

from openconnector.config import load_project
from openconnector.pipelines import run_pipeline
from openconnector.registers import Store
from tests.connectors.soap.service import SoapService

SCHEMA = """{"type": "object", "required": ["name", "city", "score"],
 "properties": {"name": {"type": "string"}, "city": {"type": "string"}, "score": {"type": "number"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"enum": ["natural", "legal"]}}}"""


def project(tmp_path: Path, url: str) -> Any:
    (tmp_path / "person.json").write_text(SCHEMA)
    (tmp_path / "openconnector.yaml").write_text(
        textwrap.dedent(f"""
        registers:
          crm: {{schemas: {{person: person.json}}}}
        sources:
          people-soap:
            type: soap
            location: {url}
            retries: 2
            backoff: 0.01
        mappings:
          person:
            mapping: {{name: name, city: city, score: score, tags: tags, kind: kind}}
        pipelines:
          people:
            source: people-soap
            read:
              operation: GetPeople
              arguments: {{page: "{{{{ page }}}}", size: 10}}
              pagination: {{type: page, size: 10}}
              id: id
            mapping: person
            target: crm/person
            on_missing: delete
        """)
    )
    return load_project(tmp_path / "openconnector.yaml")


def test_fault_mid_pagination_makes_the_run_partial_and_deletes_nothing(
    tmp_path: Path, soap: SoapService
) -> None:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    p = project(tmp_path, soap.url("/soap12"))
    store.sync_registers({"crm": None}, p.schemas)
    soap.state.total = 45

    first = asyncio.run(run_pipeline(p, store, "people"))
    assert first.status == "ok", first.errors
    assert first.counts["read"] == 45 and first.counts["created"] == 45
    assert store.count_objects("crm", "person") == 45

    soap.state.fault_page = 3
    second = asyncio.run(run_pipeline(p, store, "people"))
    assert second.status == "partial", (second.status, second.errors)
    message = second.errors[0]["message"]
    assert "page 3" in message and "SOAP fault soap12env:Receiver (Overloaded)" in message
    assert "the people database is overloaded" in message
    assert second.counts["read"] == 20 and second.counts["unchanged"] == 20  # pages 1 and 2
    assert second.counts["deleted"] == 0 and store.count_objects("crm", "person") == 45
