"""Bad configurations: every problem reported at once, each with file, line and key path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openconnector.config import ConfigError, ConfigFileNotFound, Problem, load_project
from tests.config.conftest import ENV, GOOD, WriteProject, line_of


def problems(path: Path, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_project(path, env=ENV if env is None else env)
    return info.value.problems


def by_path(found: list[Problem]) -> dict[str, Problem]:
    return {p.path: p for p in found}


def test_problem_and_error_text() -> None:
    p = Problem(
        "openconnector.yaml",
        12,
        "pipelines.crm-people.read.pagination.type",
        "must be one of page, offset, cursor, next_link",
    )
    assert str(p) == (
        "openconnector.yaml:12: pipelines.crm-people.read.pagination.type: "
        "must be one of page, offset, cursor, next_link"
    )
    assert str(Problem("a.yaml", None, "", "config file not found")) == "a.yaml: config file not found"
    err = ConfigError([p, Problem("openconnector.yaml", 3, "sources.x", "is required")])
    assert str(err).splitlines() == [str(p), "openconnector.yaml:3: sources.x: is required"]
    assert p.as_dict() == {
        "file": "openconnector.yaml",
        "line": 12,
        "column": None,
        "path": "pipelines.crm-people.read.pagination.type",
        "message": "must be one of page, offset, cursor, next_link",
    }


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("registers:\n  crm: {schemas: {a: b}\nsources: {}\n", 3, 1, "expected ',' or '}'"),
        ("pipelines:\n  p:\n    source: s\n   target: x\n", 4, 4, "expected <block end>"),
        ('sources:\n  s: {type: "rest}\n', 3, 1, "found unexpected end of stream"),
        ("sources:\n\tbad: 1\n", 2, 1, "'\\t' that cannot start any token"),
    ],
)
def test_malformed_yaml_gives_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, words: str
) -> None:
    path = tmp_path / "openconnector.yaml"
    path.write_text(text)
    (only,) = problems(path)
    assert (only.file, only.line, only.column, only.path) == (str(path), line, column, "")
    assert only.message.startswith("invalid YAML: ") and words in only.message
    assert f":{line}: invalid YAML" in str(only)


def test_several_mistakes_are_reported_at_once_in_line_order(write_project: WriteProject) -> None:
    bad = (
        GOOD.replace("pagination: {type: page, param: page}", "pagination: {type: pages, param: page}")
        .replace("    timeout: 5", "    timeout: 5\n    timout: 7")
        .replace("target: crm/org", "target: crm/orgs")
        .replace("source: crm-api\n    read: {path: /orgs", "source: crm-apu\n    read: {path: /orgs")
        .replace("on_missing: delete", "on_missing: remove")
        .replace('schedule: "*/15 * * * *"', 'schedule: "*/15 * * *"')
        .replace("mapping: crm-person\n    target", "mapping: crm-persons\n    target")
        .replace("cast: {age: int}", "cast: {age: int}\n    unset: internal")
    )
    path = write_project(bad)
    found = problems(path)
    expected = {
        "sources.crm-api.timout": ("timout: 7", "unknown key 'timout'; did you mean 'timeout'?"),
        "mappings.crm-person.unset": ("unset: internal", "must be a list (got text)"),
        "pipelines.crm-people.read.pagination.type": (
            "pagination:",
            "must be one of page, offset, cursor, next_link",
        ),
        "pipelines.crm-people.mapping": (
            "mapping: crm-persons",
            "unknown mapping 'crm-persons'; did you mean 'crm-person'?",
        ),
        "pipelines.crm-people.on_missing": ("on_missing:", "must be one of keep, delete"),
        "pipelines.crm-people.triggers[0].schedule": ("schedule:", "is not a valid cron expression"),
        "pipelines.crm-orgs.source": ("source: crm-apu", "unknown source 'crm-apu'; did you mean 'crm-api'?"),
        "pipelines.crm-orgs.target": (
            "target: crm/orgs",
            "register 'crm' has no schema 'orgs'; did you mean 'org'?",
        ),
    }
    got = by_path(found)
    assert set(got) == set(expected), [str(p) for p in found]
    for key, (needle, message) in expected.items():
        assert got[key].file == str(path)
        assert got[key].line == line_of(path, needle), str(got[key])
        assert got[key].message.startswith(message), str(got[key])
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)
    # the wrong pagination type is not echoed as three union members' complaints
    assert sum(p.path.startswith("pipelines.crm-people.read") for p in found) == 1


def test_unknown_keys_suggest_the_closest_valid_one(write_project: WriteProject) -> None:
    path = write_project(
        """\
        registers:
          crm:
            shemas: {person: schemas/person.schema.json}
        sources:
          s:
            type: cfgtest
            auth: {type: basic, usernme: me, password: pw}
        pipelines:
          p:
            source: s
            target: crm/person
            read: {recrods: data, pagination: {type: cursor, cursor_pth: meta.next}}
            trigers: []
        settigns: {}
        """
    )
    got = by_path(problems(path, {}))
    assert got["registers.crm.shemas"].message == "unknown key 'shemas'; did you mean 'schemas'?"
    assert got["sources.s.auth.usernme"].message == "unknown key 'usernme'; did you mean 'username'?"
    assert got["sources.s.auth.username"].message == "is required"
    assert got["pipelines.p.read.recrods"].message == "unknown key 'recrods'; did you mean 'records'?"
    assert got["pipelines.p.read.pagination.cursor_pth"].message.endswith("did you mean 'cursor_path'?")
    assert got["pipelines.p.read.pagination.cursor_path"].message == "is required"
    assert got["pipelines.p.trigers"].message == "unknown key 'trigers'; did you mean 'triggers'?"
    assert got["settigns"].message == "unknown key 'settigns'; did you mean 'settings'?"
    assert got["settigns"].line == line_of(path, "settigns")
    # the register with a typo still counts as defined: no "unknown register" for the pipeline
    assert "pipelines.p.target" not in got


def test_unknown_key_without_close_match_lists_valid_keys(write_project: WriteProject) -> None:
    path = write_project("sources:\n  s: {type: cfgtest, zzz: 1}\n")
    (p,) = problems(path, {})
    assert p.path == "sources.s.zzz"
    assert p.message.startswith("unknown key 'zzz'; valid keys here: type, location, auth, description")


def test_missing_environment_variable_names_variable_and_key_not_value(write_project: WriteProject) -> None:
    path = write_project(
        """\
        sources:
          s:
            type: cfgtest
            location: https://x.example/${API_VERSION:-v1}
            auth: {type: bearer, token: "prefix-${CRM_TOKEN}-${MISSING_TOKEN}"}
        """
    )
    (p,) = problems(path, {"CRM_TOKEN": "top-secret-value"})
    assert p.path == "sources.s.auth.token" and p.line == line_of(path, "auth:")
    assert "environment variable MISSING_TOKEN is not set" in p.message
    assert "top-secret-value" not in str(p) and "prefix" not in str(p)


def test_malformed_reference_is_reported_without_echoing(write_project: WriteProject) -> None:
    path = write_project("sources:\n  s:\n    type: cfgtest\n    auth: {type: bearer, token: 'ab${1x}cd'}\n")
    (p,) = problems(path, {})
    assert p.path == "sources.s.auth.token" and "not a variable reference" in p.message
    assert "ab" not in p.message.replace("variable", "")


def test_secret_values_never_appear_in_problems(write_project: WriteProject) -> None:
    path = write_project(
        """\
        sources:
          s:
            type: cfgtest
            auth: {type: oauth2, token_url: 5, client_id: [x], client_secret: {v: super-secret-1}}
          t:
            type: cfgtest
            auth: {type: bearer, token: [super-secret-2]}
        """
    )
    found = problems(path, {})
    text = "\n".join(map(str, found))
    assert "super-secret" not in text
    assert by_path(found)["sources.s.auth.client_secret"].message == "must be a string (got a mapping)"


def test_a_validator_quoting_a_value_from_the_environment_is_blanked(write_project: WriteProject) -> None:
    path = write_project(
        "sources:\n  a: {type: cfgtest, location: '${URL}'}\n  b: {type: cfgtest, location: ftp://x}\n"
    )
    got = by_path(problems(path, {"URL": "ftp://user:pa55w0rd@host"}))
    assert got["sources.a.location"].message == "must be an http URL, got '***'"
    assert got["sources.b.location"].message == "must be an http URL, got 'ftp://x'"  # written in the file


def test_missing_references(write_project: WriteProject) -> None:
    path = write_project(
        """\
        registers:
          crm: {schemas: {person: schemas/person.schema.json}}
        sources:
          s: {type: cfgtest}
        pipelines:
          p1: {source: nowhere, target: crm/person}
          p2: {source: s, target: hr/person, mapping: nothing}
          p3: {source: s, target: crm/persn}
          p4: {source: s, target: crm}
        """
    )
    got = by_path(problems(path, {}))
    assert got["pipelines.p1.source"].message == "unknown source 'nowhere'; known: s"
    assert got["pipelines.p2.target"].message == "unknown register 'hr'; known: crm"
    assert got["pipelines.p2.mapping"].message == "unknown mapping 'nothing'; known: none defined"
    assert (
        got["pipelines.p3.target"].message == "register 'crm' has no schema 'persn'; did you mean 'person'?"
    )
    assert got["pipelines.p4.target"].message == "must be REGISTER/SCHEMA, e.g. crm/person"
    for key, p in got.items():
        assert p.line == line_of(path, key.split(".")[1] + ":"), str(p)


def test_unknown_and_missing_source_type(write_project: WriteProject) -> None:
    path = write_project("sources:\n  a: {type: cfgtset}\n  b: {location: x}\n  c: {type: [rest]}\n")
    got = by_path(problems(path, {}))
    assert got["sources.a.type"].message.startswith("unknown source type 'cfgtset'; did you mean 'cfgtest'?")
    assert got["sources.b.type"].message.startswith("is required (one of ")
    assert "cfgtest" in got["sources.b.type"].message and "kafka" in got["sources.b.type"].message
    assert got["sources.c.type"].message.startswith("must be one of ")
    assert [got[k].line for k in ("sources.a.type", "sources.b.type", "sources.c.type")] == [2, 3, 4]


def test_bad_auth_type_lists_the_known_ones(write_project: WriteProject) -> None:
    path = write_project("sources:\n  s:\n    type: cfgtest\n    auth:\n      type: beaer\n      token: x\n")
    (p,) = problems(path, {})
    assert p.path == "sources.s.auth.type" and p.line == 5
    assert p.message == "must be one of none, basic, bearer, api_key, oauth2, mtls, ssh_key, sasl"


def test_schema_file_missing(write_project: WriteProject) -> None:
    path = write_project("registers:\n  crm:\n    schemas:\n      person: schemas/nope.json\n")
    (p,) = problems(path, {})
    assert (p.path, p.line) == ("registers.crm.schemas.person", 4)
    assert p.message.startswith("schema file not found: schemas/nope.json (looked for ")
    assert str(path.parent / "schemas" / "nope.json") in p.message


def test_schema_file_not_json_reports_its_own_line(write_project: WriteProject) -> None:
    path = write_project(
        "registers:\n  crm:\n    schemas:\n      person: schemas/bad.json\n      org: schemas/bad.yaml\n",
        files={
            "schemas/bad.json": '{\n  "type": "object",\n  "properties": {"a": 1,}\n}\n',
            "schemas/bad.yaml": "type: object\nproperties: [a\n",
        },
    )
    found = problems(path, {})
    got = {p.path: p for p in found}
    js = got["registers.crm.schemas.person"]
    assert js.file.endswith("schemas/bad.json") and (js.line, js.column) == (3, 25)
    assert js.message.startswith("invalid JSON: ")
    ym = got["registers.crm.schemas.org"]
    assert ym.file.endswith("schemas/bad.yaml") and ym.line == 3 and ym.message.startswith("invalid YAML: ")
    assert str(js).startswith(f"{js.file}:3: registers.crm.schemas.person: invalid JSON")


def test_schema_file_holding_a_list(write_project: WriteProject) -> None:
    path = write_project(
        "registers:\n  crm: {schemas: {person: schemas/l.json}}\n", files={"schemas/l.json": "[1, 2]"}
    )
    (p,) = problems(path, {})
    assert p.path == "registers.crm.schemas.person" and "JSON Schema object" in p.message


def test_invalid_json_schema_inline_and_in_a_file(write_project: WriteProject) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integr"}, "n": {"minimum": "x"}}}
    path = write_project(
        """\
        registers:
          crm:
            schemas:
              person: schemas/wrong.json
              org:
                type: object
                properties:
                  kvk:
                    type: string
                    pattern: "(["
        """,
        files={"schemas/wrong.json": json.dumps(schema, indent=2)},
    )
    got = by_path(problems(path, {}))
    inline = got["registers.crm.schemas.org.properties.kvk.pattern"]
    assert inline.line == line_of(path, "pattern:") and "not a valid JSON Schema" in inline.message
    in_file = got["registers.crm.schemas.person"]
    assert in_file.file.endswith("schemas/wrong.json")
    assert "not a valid JSON Schema at /properties/age/type" in in_file.message
    assert in_file.line == line_of(path.parent / "schemas" / "wrong.json", '"integr"')


def test_bad_cron_and_time_zone(write_project: WriteProject) -> None:
    path = write_project(
        """\
        registers:
          crm: {schemas: {person: schemas/person.schema.json}}
        sources:
          s: {type: cfgtest}
        pipelines:
          p:
            source: s
            target: crm/person
            triggers:
              - schedule: "0 25 * * *"
              - schedule: "*/5 * * * *"
                timezone: Europe/Amsterdm
              - shedule: "* * * * *"
              - webhook: {secret: "${HOOK_SECRET}"}
        """
    )
    got = by_path(problems(path, {}))
    assert got["pipelines.p.triggers[0].schedule"].message.startswith("is not a valid cron expression")
    assert got["pipelines.p.triggers[0].schedule"].line == 10
    assert got["pipelines.p.triggers[1].timezone"].message.startswith("is not a known time zone")
    assert got["pipelines.p.triggers[1].timezone"].line == 12
    assert got["pipelines.p.triggers[2]"].message.endswith("did you mean 'schedule' instead of 'shedule'?")
    assert "HOOK_SECRET is not set" in got["pipelines.p.triggers[3].webhook.secret"].message
    assert len(got) == 4


def test_duplicate_keys_are_errors(write_project: WriteProject) -> None:
    path = write_project("sources:\n  s: {type: cfgtest}\n  s: {type: cfgtest, location: x}\n")
    (p,) = problems(path, {})
    assert (p.path, p.line) == ("sources.s", 3) and p.message == "duplicate key (first written on line 2)"


def test_sections_and_file_of_the_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "openconnector.yaml"
    path.write_text("- just\n- a list\n")
    (p,) = problems(path, {})
    assert p.line == 1 and "must be a mapping with the sections" in p.message

    path.write_text("sources: [a, b]\npipelines:\n  bad name: {}\n")
    got = by_path(problems(path, {}))
    assert got["sources"].message.startswith("must be a mapping of name")
    assert got["pipelines.bad name"].message == "a name may not be empty or contain '/' or spaces"


def test_missing_file_is_a_config_error_and_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileNotFound) as info:
        load_project(tmp_path / "nope.yaml", env={})
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ConfigError)
    assert "config file not found" in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "openconnector.yaml"
    path.write_bytes(b"sources: {}\n# \xff\xfe\n")
    (p,) = problems(path, {})
    assert "not UTF-8" in p.message


def test_recursive_alias_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "openconnector.yaml"
    path.write_text("sources:\n  s: &x\n    type: cfgtest\n    loop: *x\n")
    (p,) = problems(path, {})
    assert p.line == 2 and "recursive" in p.message
