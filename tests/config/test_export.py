"""dump_project_yaml: the whole config back as YAML that loads to the same project."""

from __future__ import annotations

from pathlib import Path

import yaml

from openconnector.config import Project, ProjectConfig, dump_project_yaml, load_project
from tests.config.conftest import ENV, WriteProject


def assert_same(a: Project, b: Project) -> None:
    assert a.sources == b.sources
    assert a.reads == b.reads
    assert a.schemas == b.schemas
    assert a.mappings == b.mappings
    assert a.pipelines == b.pipelines
    assert a.config.settings == b.config.settings
    assert {k: r.description for k, r in a.config.registers.items()} == {
        k: r.description for k, r in b.config.registers.items()
    }
    assert {p: a.connector_for(p) for p in a.pipelines} == {p: b.connector_for(p) for p in b.pipelines}


def test_round_trip_load_dump_load(write_project: WriteProject, tmp_path: Path) -> None:
    first = load_project(write_project(), env=ENV)
    text = dump_project_yaml(first)

    elsewhere = tmp_path / "exported"
    elsewhere.mkdir()
    (elsewhere / "openconnector.yaml").write_text(text)  # no schema files here: they are inline
    second = load_project(elsewhere / "openconnector.yaml", env=ENV)
    assert_same(first, second)
    assert dump_project_yaml(second) == text  # stable


def test_export_keeps_references_and_never_writes_secrets(write_project: WriteProject) -> None:
    project = load_project(write_project(), env=ENV)
    text = dump_project_yaml(project)
    doc = yaml.safe_load(text)
    assert doc["sources"]["crm-api"]["auth"]["token"] == "${CRM_TOKEN}"
    assert doc["sources"]["crm-api"]["location"] == "${CRM_URL:-http://127.0.0.1:9}/api"
    assert doc["pipelines"]["crm-people"]["triggers"][1] == {"webhook": {"secret": "${CRM_HOOK_SECRET}"}}
    assert doc["settings"]["database_url"] == "${DB_URL:-sqlite:///x.db}"
    for secret in ENV.values():
        assert secret not in text


def test_literal_dollar_braces_survive_the_round_trip(write_project: WriteProject, tmp_path: Path) -> None:
    path = write_project(
        """\
        registers:
          r:
            schemas:
              s: {type: object, description: "costs $${AMOUNT}"}
        sources:
          s: {type: cfgtest, location: "http://h/$${raw}/${HOST:-x}"}
        """
    )
    first = load_project(path, env={})
    assert first.sources["s"].location == "http://h/${raw}/x"
    assert first.schemas["r/s"]["description"] == "costs ${AMOUNT}"
    text = dump_project_yaml(first)
    again = tmp_path / "again.yaml"
    again.write_text(text)
    second = load_project(again, env={})
    assert second.sources["s"].location == "http://h/${raw}/x"
    assert second.schemas == first.schemas


def test_an_edited_value_is_written_as_it_is_now(write_project: WriteProject) -> None:
    project = load_project(write_project(), env=ENV)
    project.config.sources["crm-api"]["location"] = "https://new.example/api"
    doc = yaml.safe_load(dump_project_yaml(project))
    assert doc["sources"]["crm-api"]["location"] == "https://new.example/api"
    assert doc["sources"]["crm-api"]["auth"]["token"] == "${CRM_TOKEN}"


def test_dump_a_bare_project_config(tmp_path: Path) -> None:
    cfg = ProjectConfig.model_validate(
        {
            "registers": {"crm": {"schemas": {"person": {"type": "object"}}}},
            "sources": {"s": {"type": "cfgtest", "auth": {"type": "bearer", "token": "${T}"}}},
            "pipelines": {
                "p": {"source": "s", "target": "crm/person", "triggers": [{"schedule": "0 * * * *"}]}
            },
        }
    )
    path = tmp_path / "openconnector.yaml"
    path.write_text(dump_project_yaml(cfg))
    project = load_project(path, env={"T": "tok"})
    assert project.sources["s"].auth.token.get_secret_value() == "tok"  # type: ignore[union-attr]
    assert project.pipelines["p"].triggers == cfg.pipelines["p"].triggers
    assert project.schemas == {"crm/person": {"type": "object"}}


def test_schema_paths_kept_when_not_inlined(write_project: WriteProject) -> None:
    project = load_project(write_project(), env=ENV)
    doc = yaml.safe_load(dump_project_yaml(project, inline_schemas=False))
    assert doc["registers"]["crm"]["schemas"]["person"] == "schemas/person.schema.json"
