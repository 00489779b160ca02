"""Helpers for the config tests: write a project folder and load it with a fixed environment."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import tests.config.dummy  # noqa: F401  (registers the "cfgtest" connector)

ENV = {
    "CRM_TOKEN": "s3cr3t-token-value",
    "CRM_HOOK_SECRET": "hook-secret-value",
}

PERSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
}

ORG_SCHEMA_YAML = """\
type: object
properties:
  name: {type: string}
  kvk: {type: string, pattern: "^[0-9]{8}$"}
"""

GOOD = """\
registers:
  crm:
    description: People from the CRM
    schemas:
      person: schemas/person.schema.json
      org: schemas/org.schema.yaml
      note:
        type: object
        properties:
          text: {type: string}
sources:
  crm-api:
    type: cfgtest
    location: ${CRM_URL:-http://127.0.0.1:9}/api
    auth: {type: bearer, token: "${CRM_TOKEN}"}
    timeout: 5
mappings:
  crm-person:
    mapping:
      name: "{{ first_name }} {{ last_name }}"
      age: age
      address.city: address.city
    cast: {age: int}
    passThrough: false
pipelines:
  crm-people:
    source: crm-api
    read:
      path: /people
      query: {per_page: 100}
      records: data.items
      id: id
      pagination: {type: page, param: page}
      incremental: {cursor: updated_at}
    mapping: crm-person
    target: crm/person
    on_missing: delete
    triggers:
      - schedule: "*/15 * * * *"
        timezone: Europe/Amsterdam
      - webhook: {secret: "${CRM_HOOK_SECRET}"}
      - manual: true
  crm-orgs:
    source: crm-api
    read: {path: /orgs, pagination: {type: next_link}}
    target: crm/org
settings:
  database_url: ${DB_URL:-sqlite:///x.db}
"""

WriteProject = Callable[..., Path]


@pytest.fixture
def write_project(tmp_path: Path) -> WriteProject:
    """Write ``openconnector.yaml`` (dedented) plus the standard schema files; return its path."""

    def write(config: str = GOOD, *, folder: Path | None = None, files: dict[str, str] | None = None) -> Path:
        root = folder or tmp_path
        (root / "schemas").mkdir(parents=True, exist_ok=True)
        (root / "schemas" / "person.schema.json").write_text(json.dumps(PERSON_SCHEMA, indent=2))
        (root / "schemas" / "org.schema.yaml").write_text(ORG_SCHEMA_YAML)
        for name, text in (files or {}).items():
            (root / name).write_text(text)
        path = root / "openconnector.yaml"
        path.write_text(textwrap.dedent(config))
        return path

    return write


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line of ``path`` containing ``needle``."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not in {path}"
    return hits[nth - 1]
