"""A valid configuration loads into a resolved, validated Project."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from openconnector.config import Project, load_project
from openconnector.config.models import ManualTrigger, ScheduleTrigger, WebhookTrigger
from tests.config.conftest import ENV, PERSON_SCHEMA, WriteProject
from tests.config.dummy import DummyConnector, DummyRead, DummySource, PagePagination


def test_good_config_loads_everything(write_project: WriteProject) -> None:
    path = write_project()
    project = load_project(path, env=ENV)

    assert isinstance(project, Project)
    assert project.path == path and project.base_dir == path.parent

    src = project.sources["crm-api"]
    assert isinstance(src, DummySource)
    assert src.location == "http://127.0.0.1:9/api"  # ${CRM_URL:-default} took the default
    assert src.timeout == 5
    assert isinstance(src.auth.token, SecretStr)  # type: ignore[union-attr]
    assert src.auth.token.get_secret_value() == ENV["CRM_TOKEN"]  # type: ignore[union-attr]
    assert ENV["CRM_TOKEN"] not in repr(src)

    read = project.reads["crm-people"]
    assert isinstance(read, DummyRead)
    assert read.path == "/people" and read.records == "data.items" and read.query == {"per_page": 100}
    assert isinstance(read.pagination, PagePagination) and read.pagination.param == "page"
    assert read.incremental is not None and read.incremental.cursor == "updated_at"
    assert project.reads["crm-orgs"].pagination.type == "next_link"  # type: ignore[attr-defined]

    assert project.schemas["crm/person"] == PERSON_SCHEMA
    assert project.schemas["crm/org"]["properties"]["kvk"]["pattern"] == "^[0-9]{8}$"
    assert project.schemas["crm/note"] == {"type": "object", "properties": {"text": {"type": "string"}}}

    mapping = project.mappings["crm-person"]
    assert mapping.mapping["address.city"] == "address.city" and mapping.cast == {"age": "int"}
    assert mapping.pass_through is False

    people = project.pipelines["crm-people"]
    assert people.target == "crm/person" and people.on_missing == "delete"
    schedule, webhook, manual = people.triggers
    assert isinstance(schedule, ScheduleTrigger) and schedule.timezone == "Europe/Amsterdam"
    assert isinstance(webhook, WebhookTrigger) and webhook.webhook.secret == ENV["CRM_HOOK_SECRET"]
    assert isinstance(manual, ManualTrigger)
    assert project.connector_for("crm-people") is DummyConnector
    assert project.config.settings.database_url == "sqlite:///x.db"
    assert ENV["CRM_TOKEN"] not in repr(project)


def test_environment_values_defaults_and_escapes(write_project: WriteProject) -> None:
    path = write_project(
        """\
        sources:
          s:
            type: cfgtest
            location: "${HOST}:${PORT:-80}/$${NOT_A_VAR}/${EMPTY:-fallback}"
            description: "cost: $$5 and ${EMPTY}."
        """
    )
    project = load_project(path, env={"HOST": "http://h", "EMPTY": ""})
    assert project.sources["s"].location == "http://h:80/${NOT_A_VAR}/fallback"
    assert project.sources["s"].description == "cost: $$5 and ."


def test_default_path_from_environment_variable_then_cwd(
    write_project: WriteProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project()
    monkeypatch.chdir(tmp_path)
    assert load_project(env=ENV).path == path  # ./openconnector.yaml

    other = tmp_path / "elsewhere"
    other.mkdir()
    alt = write_project(folder=other)
    assert load_project(env={**ENV, "OPENCONNECTOR_CONFIG": str(alt)}).path == alt


def test_empty_file_is_an_empty_project(tmp_path: Path) -> None:
    path = tmp_path / "openconnector.yaml"
    path.write_text("# nothing yet\n")
    project = load_project(path, env={})
    assert project.sources == {} and project.pipelines == {} and project.schemas == {}


def test_yaml_anchors_and_merge_keys(write_project: WriteProject) -> None:
    path = write_project(
        """\
        registers:
          crm: {schemas: {person: schemas/person.schema.json}}
        sources:
          s: {type: cfgtest}
        pipelines:
          a: &base
            source: s
            target: crm/person
            read: {path: /a}
          b:
            <<: *base
            read: {path: /b}
        """
    )
    project = load_project(path, env={})
    assert project.reads["a"].path == "/a" and project.reads["b"].path == "/b"  # type: ignore[attr-defined]
    assert project.pipelines["b"].target == "crm/person"
