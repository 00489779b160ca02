"""The loader with the real REST connector and mapping engine (skipped while they are not built)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openconnector.config import ConfigError, load_project
from openconnector.connectors import get_connector
from tests.config.conftest import WriteProject, line_of


def _has_rest() -> bool:
    try:
        get_connector("rest")
    except Exception:
        return False
    return True


needs_rest = pytest.mark.skipif(not _has_rest(), reason="openconnector.connectors.rest not built yet")

CONFIG = """\
registers:
  crm: {schemas: {person: schemas/person.schema.json}}
sources:
  crm-api:
    type: rest
    location: https://crm.example.org/api/v1
    auth: {type: bearer, token: "${CRM_TOKEN}"}
pipelines:
  crm-people:
    source: crm-api
    read:
      path: /people
      records: data.items
      pagination: {type: pages, param: page}
    target: crm/person
    filter: "active and"
"""


@needs_rest
def test_rest_pagination_type_message_is_the_documented_one(write_project: WriteProject) -> None:
    path = write_project(CONFIG)
    with pytest.raises(ConfigError) as info:
        load_project(path, env={"CRM_TOKEN": "t"})
    lines = str(info.value).splitlines()
    assert (
        f"{path}:{line_of(path, 'pagination:')}: pipelines.crm-people.read.pagination.type: "
        "must be one of page, offset, cursor, next_link"
    ) in lines
    filt = [p for p in info.value.problems if p.path == "pipelines.crm-people.filter"]
    assert len(filt) == 1 and filt[0].message.startswith("is not a valid expression")
    assert filt[0].line == line_of(path, "filter:")


@needs_rest
def test_quickstart_example_is_valid() -> None:
    example = Path(__file__).parents[2] / "examples" / "quickstart" / "openconnector.yaml"
    project = load_project(example, env={})
    assert set(project.pipelines) == {"demo-people"}
    assert project.connector_for("demo-people").type == "rest"
    assert "crm/person" in project.schemas


DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def _yaml_blocks() -> list[str]:
    text = DOCS.read_text()
    return [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]


def test_every_yaml_example_in_the_reference_parses() -> None:
    import yaml

    blocks = _yaml_blocks()
    assert len(blocks) >= 6
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict), block


@needs_rest
def test_the_reference_opening_example_is_valid(write_project: WriteProject) -> None:
    path = write_project(_yaml_blocks()[0])
    project = load_project(path, env={"CRM_TOKEN": "t"})
    assert project.pipelines["crm-people"].target == "crm/person"
