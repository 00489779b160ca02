"""Input the importer must refuse or report: not JSON, not an export, unknown casts, broken Twig,
references that do not resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from openconnector.importers.openconnector import ExportReadError, import_openconnector
from tests.importers.conftest import Writer

MAPPING = {"name": "Person", "mapping": {"name": "first_name"}, "unset": [], "cast": {}, "passThrough": False}


def test_a_file_that_is_not_json_is_an_error_naming_file_and_position(export: Writer) -> None:
    export("mappings/person.json", MAPPING)
    export("mappings/broken.json", '{\n  "name": "Broken",\n  "mapping": {"a": "b",}\n}\n')
    (export.root / "mappings/binary.json").write_bytes(b'{"name": "caf\xe9"}')  # type: ignore[attr-defined]
    with pytest.raises(ExportReadError) as info:
        import_openconnector([export.root])  # type: ignore[attr-defined]
    problems = info.value.problems
    broken = next(p for p in problems if "broken.json" in p)
    assert "is not valid JSON" in broken and "line 3, column" in broken
    binary = next(p for p in problems if "binary.json" in p)
    assert "not UTF-8" in binary and "offset 13" in binary
    assert not any("person.json" in p for p in problems)


def test_a_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExportReadError) as info:
        import_openconnector([tmp_path / "nope.json"])
    assert info.value.problems == [f"{tmp_path / 'nope.json'}: no such file or folder"]


def test_json_that_is_not_an_export_is_reported_and_skipped(export: Writer) -> None:
    export("package.json", {"name": "frontend", "dependencies": {"vue": "^2"}})
    export("numbers.json", [1, 2, 3])
    export("mappings/person.json", MAPPING)
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert set(result.config["mappings"]) == {"person"}
    skipped = {(e.file, e.key): e.message for e in result.report.of_kind("skipped")}
    assert "not an OpenConnector export" in skipped[("package.json", "")]
    assert "dependencies, name" in skipped[("package.json", "")]
    assert {("numbers.json", "[0]"), ("numbers.json", "[1]"), ("numbers.json", "[2]")} <= set(skipped)


def test_unknown_casts_are_reported_and_left_out(export: Writer) -> None:
    export(
        "m.json",
        {
            "name": "Casts",
            "mapping": {"age": "age", "code": "code", "flag": "flag"},
            "cast": {"age": "integr", "code": "unsetIfValue==a,b", "flag": ["bool", "nonsense"]},
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    casts = result.config["mappings"]["casts"]["cast"]
    assert casts == {"code": "unsetIfValue==a", "flag": ["bool"]}
    dropped = {e.key: e.message for e in result.report.of_kind("dropped")}
    assert "unknown cast 'integr'" in dropped["cast.age"] and "'integer'" in dropped["cast.age"]
    assert "unknown cast 'b'" in dropped["cast.code"] and "comma" in dropped["cast.code"]
    assert "unknown cast 'nonsense'" in dropped["cast.flag"]


def test_twig_that_does_not_compile_names_the_mapping_key_and_the_template(export: Writer) -> None:
    template = "{% if name %}Hello {{ name }"
    export("m.json", {"name": "Greeting", "mapping": {"greeting": template, "name": "name"}})
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["mappings"]["greeting"]["mapping"]["greeting"] == template  # written as it is
    [entry] = result.report.of_kind("invalid")
    assert entry.file == "m.json" and entry.key == "mapping.greeting"
    assert repr(template) in entry.message
    assert entry.yaml == "mappings.greeting.mapping.greeting"


def test_references_that_do_not_resolve_name_both_files(export: Writer) -> None:
    export("mappings/person.json", MAPPING)
    export("sources/crm.json", {"name": "CRM", "type": "api", "location": "https://crm.example.org"})
    export(
        "synchronizations/people.json",
        {
            "name": "People",
            "sourceType": "api",
            "sourceId": "no-such-source",
            "sourceTargetMapping": "no-such-mapping",
            "sourceConfig": {"endpoint": "/people", "resultsPosition": "_root"},
            "targetType": "register/schema",
            "targetId": "crm/person",
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    by_key = {e.key: e for e in result.report.of_kind("unresolved")}
    mapping, source = by_key["sourceTargetMapping"], by_key["sourceId"]
    assert mapping.file == source.file == "synchronizations/people.json"
    assert "'no-such-mapping'" in mapping.message and "mappings/person.json" in mapping.message
    assert "'no-such-source'" in source.message and "sources/crm.json" in source.message
    pipeline = result.config["pipelines"]["people"]
    assert pipeline["source"] == "source-no-such-source"
    assert pipeline["mapping"] == "mapping-no-such-mapping"
    assert pipeline["target"] == "crm/person"


def test_references_resolve_by_id_slug_reference_and_name(export: Writer) -> None:
    export("a.json", {"id": 7, "name": "By id", "mapping": {}})
    export("b.json", {"slug": "by-slug", "name": "Something", "mapping": {}})
    export("c.json", {"reference": "https://x/mappings/3", "name": "By ref", "mapping": {}})
    export("d.json", {"name": "By Name", "mapping": {}})
    for i, ref in enumerate(("7", "by-slug", "https://x/mappings/3", "By Name")):
        export(
            f"sync{i}.json",
            {"name": f"S{i}", "sourceId": "1", "sourceTargetMapping": ref, "targetId": "1/1"},
        )
    config = import_openconnector([export.root]).config  # type: ignore[attr-defined]
    assert [config["pipelines"][f"s{i}"]["mapping"] for i in range(4)] == [
        "by-id",
        "by-slug",
        "by-ref",
        "by-name",
    ]


def test_an_ambiguous_reference_is_reported_with_every_match(export: Writer) -> None:
    export("a.json", {"name": "Twin", "mapping": {}})
    export("b.json", {"name": "twin", "mapping": {}})
    export("s.json", {"name": "S", "sourceId": "1", "sourceTargetMapping": "twin", "targetId": "1/1"})
    report = import_openconnector([export.root]).report  # type: ignore[attr-defined]
    [entry] = [e for e in report.of_kind("unresolved") if e.key == "sourceTargetMapping"]
    assert "ambiguous" in entry.message and "a.json" in entry.message and "b.json" in entry.message


def test_a_bad_id_option_is_an_error(export: Writer) -> None:
    export("m.json", MAPPING)
    with pytest.raises(ExportReadError) as info:
        import_openconnector([export.root], ids=["mapping:1", "mapping:2=nobody"])  # type: ignore[attr-defined]
    first, second = info.value.problems
    assert "write KIND:ID=NAME" in first
    assert "no imported mapping is called 'nobody'" in second and "person" in second


def test_the_importers_cast_names_are_the_dialects() -> None:
    """Unknown casts are left out because the dialect rejects them: both lists must agree."""
    from openconnector.importers.openconnector.mappings import CAST_NAMES
    from openconnector.mapping.openconnector.casts import CASTS

    assert set(CASTS) == CAST_NAMES


def test_files_without_any_export_are_an_error(export: Writer, tmp_path: Path) -> None:
    export("package.json", {"name": "frontend"})
    with pytest.raises(ExportReadError) as info:
        import_openconnector([export.root])  # type: ignore[attr-defined]
    assert info.value.problems == [
        "package.json: not an OpenConnector export (it has none of the keys of a source, mapping or "
        "synchronization; its keys: name); nothing imported"
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportReadError) as empty:
        import_openconnector([tmp_path / "empty"])
    assert empty.value.problems == ["no JSON files found"]
