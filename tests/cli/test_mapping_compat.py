"""Issue 9's acceptance: every reference case of the original engine passes through
`openconnector mapping test NAME --input FILE --json` with `dialect: openconnector`.

The cases are read from ../shared/compat at test time, never copied into this repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from openconnector.cli import app
from tests.mapping.compat import load_cases, require_compat, same

CASES = load_cases()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_compat()
    folder = tmp_path_factory.mktemp("compat")
    mappings: dict[str, Any] = {}
    for case in CASES:
        m = case["mapping"]
        mappings[case["name"]] = {
            "dialect": "openconnector",
            "mapping": m.get("mapping") or {},
            "cast": m.get("cast") or {},
            "unset": m.get("unset") or [],
            "passThrough": bool(m.get("passThrough")),
        }
        (folder / f"{case['name']}.json").write_text(json.dumps(case["input"]))
    (folder / "openconnector.yaml").write_text(yaml.safe_dump({"mappings": mappings}))
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_reference_case_through_the_cli(project: Path, case: dict[str, Any]) -> None:
    args = [
        "mapping",
        "test",
        case["name"],
        "--input",
        str(project / f"{case['name']}.json"),
        "-c",
        str(project / "openconnector.yaml"),
        "--json",
    ]
    if (case.get("options") or {}).get("list"):
        args.append("--list")
    result = CliRunner().invoke(app, args)
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc
    assert doc["valid"] is None and doc["errors"] == []
    assert same(doc["output"], case["expected"]), (doc["output"], case["expected"])
