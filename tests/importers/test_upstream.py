"""Importing the original's real configurations (ConductionNL/openconnector ``configurations/``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from openconnector.config import ConfigError, load_project
from openconnector.importers.openconnector import import_openconnector, validate_output

WOO_LINK = "mappings.publication-to-elastic.mapping.link"


def _write(tmp_path: Path, text: str) -> Path:
    out = tmp_path / "openconnector.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def test_xxllnc_becomes_a_pipeline_with_its_read_settings(upstream: Path) -> None:
    result = import_openconnector([upstream / "xxllnc-zgw"])
    pipeline = result.config["pipelines"]["xxllnc-cases-to-zgw-zaken"]
    assert pipeline["read"] == {
        "path": "/case",
        "query": {"zql": "select {} from case where case.casetype.id="},
        "records": "result.instance.rows",
        "id": "reference",
        "pagination": {"type": "page", "param": "page"},
    }
    assert pipeline["target"] == "register-1/schema-1"
    assert result.config["registers"]["register-1"]["schemas"] == {"schema-1": {}}
    assert pipeline["on_missing"] == "delete"
    # the synchronization names source 1 and mapping 1 by database id, which the files do not carry
    assert pipeline["source"] == "source-1"
    assert result.config["sources"]["source-1"]["location"] == ""
    assert pipeline["mapping"] == "mapping-1"
    assert result.config["mappings"]["mapping-1"]["pass_through"] is True


def test_mappings_are_kept_as_they_are_in_the_openconnector_dialect(upstream: Path) -> None:
    result = import_openconnector([upstream / "xxllnc-zgw"])
    mappings = result.config["mappings"]
    original = json.loads(
        (upstream / "xxllnc-zgw/mappings/xxllnc-v1-milestone-to-zgw-status.json").read_text()
    )
    status = mappings["xxllnc-milestone-to-zgw-status"]
    assert status["dialect"] == "openconnector"
    assert status["mapping"] == original["mapping"]
    assert status["cast"] == original["cast"]
    # "passTrough" is not a key the original reads: pass-through stayed off there, and stays off here
    assert status["pass_through"] is False
    zaak = mappings["xxllnc-case-to-zgw-zaak"]
    case = json.loads((upstream / "xxllnc-zgw/mappings/xxllnc-v1-case-to-zgw-zaak.json").read_text())
    assert zaak["cast"] == case["cast"]
    assert zaak["mapping"]["kenmerken.0.bron"] == "xxllnc v1 api"
    # sub-mapping ids are rewritten to mapping names; unresolved ones get placeholder mappings
    assert "executeMapping('mapping-4', data)" in zaak["mapping"]["status"]
    assert {f"mapping-{n}" for n in (2, 3, 4, 5, 6, 7)} <= set(mappings)


def test_ids_given_on_the_command_line_resolve_the_references(upstream: Path) -> None:
    result = import_openconnector(
        [upstream / "xxllnc-zgw"],
        ids=["mapping:1=xxllnc-case-to-zgw-zaak", "mapping:4=xxllnc-v1-milestone-to-zgw-status.json"],
    )
    config = result.config
    assert config["pipelines"]["xxllnc-cases-to-zgw-zaken"]["mapping"] == "xxllnc-case-to-zgw-zaak"
    status = config["mappings"]["xxllnc-case-to-zgw-zaak"]["mapping"]["status"]
    assert "executeMapping('xxllnc-milestone-to-zgw-status', data)" in status
    assert "mapping-1" not in config["mappings"] and "mapping-4" not in config["mappings"]
    assert "mapping-2" in config["mappings"]  # 2 was not named: still a placeholder


def test_woo_elastic_source_keeps_no_credential(upstream: Path) -> None:
    result = import_openconnector([upstream / "woo-elastic"])
    source = result.config["sources"]["elastic-api"]
    assert source["type"] == "rest"
    assert source["headers"] == {
        "Authorization": "ApiKey ${ELASTIC_API_AUTHORIZATION}",
        "Content-Type": "application/json",
    }
    assert "ApiKey .." not in result.text
    [var] = result.report.env
    assert var.name == "ELASTIC_API_AUTHORIZATION"
    assert var.file == "sources/elastic.json" and var.key == "configuration.headers.Authorization"
    # the synchronization pushes register objects to Elastic: no pipeline, every setting reported
    assert "pipelines" not in result.config
    dropped = {(e.file, e.key) for e in result.report.of_kind("dropped")}
    for key in (
        "sourceId",
        "sourceTargetMapping",
        "targetId",
        "targetConfig.idPosition",
        "targetConfig.endpoint",
    ):
        assert ("synchronizations/publication-to-elastic.json", key) in dropped


def test_report_lists_every_setting_without_an_equivalent(upstream: Path) -> None:
    report = import_openconnector([upstream]).report
    sync = "xxllnc-zgw/synchronizations/xxllnc-v1-cases-to-zgw-zaken.json"
    keys = {(e.file, e.key): e for e in report.entries}
    raw = json.loads((upstream / sync).read_text())
    for key in (k for k in raw["sourceConfig"] if k.startswith("extraDataConfigs.")):
        entry = keys[(sync, f"sourceConfig.{key}")]
        assert entry.kind == "dropped" and "documents" in entry.message and "casetype" in entry.message
    source = "woo-elastic/sources/elastic.json"
    for key in ("logRetention", "errorRetention", "authorizationHeader", "authorizationPassthroughMethod"):
        assert keys[(source, key)].kind == "dropped", key
    assert keys[(sync, "targetId")].kind == "placeholder"
    assert "register-1" in keys[(sync, "targetId")].message
    assert "version" in keys[(sync, "version, currentPage")].key
    assert report.base.endswith("openconnector-configurations")
    assert report.counts["pipelines"] == 1 and report.counts["sources"] == 2


def test_unresolved_references_name_both_files(upstream: Path) -> None:
    report = import_openconnector([upstream]).report
    [entry] = [e for e in report.of_kind("unresolved") if e.key == "sourceTargetMapping"]
    assert entry.file == "xxllnc-zgw/synchronizations/xxllnc-v1-cases-to-zgw-zaken.json"
    assert "xxllnc-zgw/mappings/xxllnc-v1-case-to-zgw-zaak.json" in entry.message
    assert "--id mapping:1=NAME" in entry.message


def test_the_broken_woo_link_template_is_written_and_reported(upstream: Path) -> None:
    result = import_openconnector([upstream / "woo-elastic"])
    mapping = result.config["mappings"]["publication-to-elastic"]
    assert "strip_tags" in mapping["mapping"]["link"]  # written as it is, not silently dropped
    [entry] = [e for e in result.report.of_kind("invalid")]
    assert entry.file == "mappings/publication-to-elastic.json"
    assert entry.key == "mapping.link"
    assert "strip_tags" in entry.message  # the template, quoted


def test_output_validates_except_the_documented_broken_template(upstream: Path, tmp_path: Path) -> None:
    result = import_openconnector([upstream])
    out = _write(tmp_path, result.text)
    validate_output(out, result.report)
    assert result.report.valid is False
    assert {p["path"] for p in result.report.problems} == {WOO_LINK}
    # the same check as `openconnector validate`, with the credential set the way a user would
    with pytest.raises(ConfigError) as info:
        load_project(out, env={"ELASTIC_API_AUTHORIZATION": "k"})
    assert [p.path for p in info.value.problems] == [WOO_LINK]


def test_xxllnc_output_loads(upstream: Path, tmp_path: Path) -> None:
    result = import_openconnector([upstream / "xxllnc-zgw"])
    project = load_project(_write(tmp_path, result.text), env={})
    assert set(project.pipelines) == {"xxllnc-cases-to-zgw-zaken"}
    read = project.reads["xxllnc-cases-to-zgw-zaken"]
    assert read.records == "result.instance.rows" and read.id == "reference"


def test_importing_twice_gives_the_same_bytes(upstream: Path) -> None:
    first = import_openconnector([upstream])
    second = import_openconnector([upstream / "xxllnc-zgw", upstream / "woo-elastic"])
    assert first.text == second.text
    assert first.report.as_dict() == second.report.as_dict()
    # and the YAML is plain data in a stable order
    assert list(yaml.safe_load(first.text)) == ["registers", "sources", "mappings", "pipelines"]
