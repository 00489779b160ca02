"""`openconnector import openconnector PATH...`: files written, report shapes, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openconnector.cli import app
from tests.importers.conftest import Writer

REPORT_KEYS = {
    "output",
    "base",
    "written",
    "valid",
    "counts",
    "summary",
    "files",
    "env",
    "entries",
    "problems",
}
ENTRY_KEYS = {"kind", "severity", "file", "key", "object", "message", "yaml"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_upstream_import_writes_the_project_and_the_json_report(
    runner: CliRunner, upstream: Path, tmp_path: Path
) -> None:
    out = tmp_path / "project" / "openconnector.yaml"
    result = runner.invoke(app, ["import", "openconnector", str(upstream), "-o", str(out), "--json"])
    assert result.exit_code == 1, result.output  # written, but the woo-elastic link template must be fixed
    doc = json.loads(result.stdout)
    assert set(doc) == REPORT_KEYS
    assert doc["written"] is True and doc["valid"] is False
    assert [p["path"] for p in doc["problems"]] == ["mappings.publication-to-elastic.mapping.link"]
    assert all(set(e) == ENTRY_KEYS for e in doc["entries"])
    assert doc["env"] == [
        {
            "name": "ELASTIC_API_AUTHORIZATION",
            "file": "woo-elastic/sources/elastic.json",
            "key": "configuration.headers.Authorization",
            "purpose": "the credential in header Authorization (after 'ApiKey')",
        }
    ]
    files = {f["file"]: f["objects"] for f in doc["files"]}
    assert files["xxllnc-zgw/synchronizations/xxllnc-v1-cases-to-zgw-zaken.json"] == [
        {
            "kind": "synchronization",
            "name": "Xxllnc cases to ZGW zaken",
            "imported_as": "pipelines.xxllnc-cases-to-zgw-zaken",
        }
    ]
    assert files["woo-elastic/synchronizations/publication-to-elastic.json"][0]["imported_as"] == ""
    assert out.read_text().startswith("# Imported from OpenConnector")


def test_a_valid_import_exits_0_and_validate_agrees(
    runner: CliRunner, upstream: Path, tmp_path: Path
) -> None:
    out = tmp_path / "openconnector.yaml"
    result = runner.invoke(app, ["import", "openconnector", str(upstream / "xxllnc-zgw"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "validate` accepts the written file" in result.stdout
    check = runner.invoke(app, ["validate", "-c", str(out), "--json"])
    assert check.exit_code == 0, check.output
    assert json.loads(check.stdout)["pipelines"] == 1


def test_importing_twice_leaves_the_file_byte_identical(
    runner: CliRunner, upstream: Path, tmp_path: Path
) -> None:
    out = tmp_path / "openconnector.yaml"
    args = ["import", "openconnector", str(upstream), "-o", str(out), "--json"]
    runner.invoke(app, args)
    first = out.read_bytes()
    second_run = runner.invoke(app, args)
    assert second_run.exit_code == 1
    assert out.read_bytes() == first


def test_report_files_in_markdown_and_json(runner: CliRunner, upstream: Path, tmp_path: Path) -> None:
    out = tmp_path / "openconnector.yaml"
    md, js = tmp_path / "report.md", tmp_path / "report.json"
    runner.invoke(app, ["import", "openconnector", str(upstream), "-o", str(out), "--report", str(md)])
    runner.invoke(app, ["import", "openconnector", str(upstream), "-o", str(out), "--report", str(js)])
    text = md.read_text()
    assert text.startswith("# OpenConnector import report")
    assert "| `ELASTIC_API_AUTHORIZATION` |" in text
    assert "`sourceConfig.extraDataConfigs.1.unsetConfigKey`" in text
    assert json.loads(js.read_text())["counts"]["pipelines"] == 1


def test_human_output_is_a_table_with_the_environment_variables(
    runner: CliRunner, upstream: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["import", "openconnector", str(upstream), "-o", str(tmp_path / "o.yaml")],
        env={"COLUMNS": "200"},
    )
    assert "Imported 2 sources, 10 mappings, 1 pipelines" in result.stdout
    assert "ELASTIC_API_AUTHORIZATION" in result.stdout
    assert "extraDataConfigs" in result.stdout
    assert "mappings.publication-to-elastic.mapping.link" in result.stdout


def test_a_file_that_is_not_json_writes_nothing_and_exits_2(
    runner: CliRunner, export: Writer, tmp_path: Path
) -> None:
    export("ok.json", {"name": "A", "mapping": {}})
    export("bad.json", '{"name": "A",\n  "mapping": }')
    out = tmp_path / "openconnector.yaml"
    result = runner.invoke(app, ["import", "openconnector", str(export.root), "-o", str(out)])  # type: ignore[attr-defined]
    assert result.exit_code == 2
    assert "bad.json: is not valid JSON: Expecting value at line 2, column 14" in result.stderr
    assert not out.exists()
    as_json = runner.invoke(app, ["import", "openconnector", str(export.root), "-o", str(out), "--json"])  # type: ignore[attr-defined]
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["written"] is False


def test_an_output_file_the_import_did_not_write_is_not_overwritten(
    runner: CliRunner, export: Writer, tmp_path: Path
) -> None:
    export("ok.json", {"name": "A", "mapping": {}})
    out = tmp_path / "openconnector.yaml"
    out.write_text("sources: {}\n")
    args = ["import", "openconnector", str(export.root), "-o", str(out)]  # type: ignore[attr-defined]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert out.read_text() == "sources: {}\n"
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "mappings:" in out.read_text()
