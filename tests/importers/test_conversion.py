"""How each part of an export becomes YAML: sources and their auth, synchronization settings,
conditions, jobs, and the other export layouts (lists, configuration bundles)."""

from __future__ import annotations

import json

import pytest

from openconnector.importers.openconnector import import_openconnector
from openconnector.importers.openconnector.conditions import Untranslatable, to_filter
from openconnector.importers.openconnector.jobs import interval_to_cron
from openconnector.importers.openconnector.reading import classify
from tests.importers.conftest import Writer

SECRETS = ("s3cr3t-token-value", "pw-hunter2", "key-abcdef123", "client-secret-xyz", "PEMDATA")


def _sync(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "People",
        "sourceType": "api",
        "sourceId": "crm",
        "sourceConfig": {"endpoint": "/people", "resultsPosition": "data", "idPosition": "uuid"},
        "targetType": "register/schema",
        "targetId": "crm/person",
    }
    doc.update(over)
    return doc


def test_credentials_become_environment_variables_and_never_reach_yaml_or_report(export: Writer) -> None:
    export(
        "crm.json",
        {
            "name": "CRM",
            "type": "api",
            "location": "https://crm.example.org/api",
            "configuration": {
                "headers.Authorization": "Bearer s3cr3t-token-value",
                "headers.Accept": "application/json",
                "auth": ["robot", "pw-hunter2"],
                "query.api_key": "key-abcdef123",
                "query.filter.status": "open",
                "query.expand": True,
                "timeout": 12,
                "verify": False,
            },
            "password": "pw-hunter2",
            "rateLimitLimit": 60,
            "rateLimitWindow": 60,
        },
    )
    export("people.json", _sync())
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    source = result.config["sources"]["crm"]
    assert source["headers"] == {"Authorization": "Bearer ${CRM_AUTHORIZATION}", "Accept": "application/json"}
    assert source["auth"] == {"type": "basic", "username": "robot", "password": "${CRM_PASSWORD}"}
    assert source["timeout"] == 12 and source["verify"] is False and source["rate_limit"] == 1.0
    read = result.config["pipelines"]["people"]["read"]
    # the query parameters of the source go with every pipeline that reads from it, PHP-style
    assert read["query"] == {"api_key": "${CRM_API_KEY}", "filter[status]": "open", "expand": "1"}
    everything = result.text + json.dumps(result.report.as_dict())
    for secret in SECRETS:
        assert secret not in everything
    assert [v.name for v in result.report.env] == ["CRM_AUTHORIZATION", "CRM_PASSWORD", "CRM_API_KEY"]
    password_field = next(e for e in result.report.entries if e.key == "password")
    assert password_field.kind == "dropped" and "not copied" in password_field.message


def test_oauth_token_header_becomes_oauth2_auth(export: Writer) -> None:
    export(
        "idp.json",
        {
            "name": "Zaken",
            "type": "api",
            "location": "https://zaken.example.org",
            "configuration": {
                "headers": {"Authorization": "Bearer {{ oauthToken(source) }}"},
                "authentication": {
                    "grant_type": "client_credentials",
                    "tokenUrl": "https://idp.example.org/token",
                    "client_id": "connector",
                    "client_secret": "client-secret-xyz",
                    "scope": "read",
                    "authentication": "body",
                },
            },
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    source = result.config["sources"]["zaken"]
    assert "headers" not in source
    assert source["auth"] == {
        "type": "oauth2",
        "token_url": "https://idp.example.org/token",
        "client_id": "connector",
        "client_secret": "${ZAKEN_CLIENT_SECRET}",
        "scope": "read",
    }
    assert "client-secret-xyz" not in result.text
    assert any(
        e.key == "configuration.authentication.authentication" for e in result.report.of_kind("dropped")
    )


def test_a_templated_header_reads_its_value_from_the_environment(export: Writer) -> None:
    export(
        "s.json",
        {
            "name": "S",
            "type": "api",
            "location": "https://s",
            "configuration": {"headers.X-Token": "{{ jwtToken(source) }}"},
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["sources"]["s"]["headers"] == {"X-Token": "${S_X_TOKEN}"}


def test_client_certificates_become_mtls_with_file_paths_from_the_environment(export: Writer) -> None:
    export(
        "s.json",
        {
            "name": "S",
            "type": "api",
            "location": "https://s",
            "configuration": {"cert": "PEMDATA", "ssl_key": "PEMDATA"},
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["sources"]["s"]["auth"] == {
        "type": "mtls",
        "cert": "${S_CERT_FILE}",
        "key": "${S_KEY_FILE}",
    }
    assert "PEMDATA" not in result.text


def test_unsupported_source_types_are_not_imported_and_their_pipelines_say_why(export: Writer) -> None:
    export("db.json", {"name": "Legacy DB", "type": "database", "location": "mysql://db"})
    export("s.json", _sync(sourceId="legacy-db"))
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert "sources" not in result.config and "pipelines" not in result.config
    messages = [e.message for e in result.report.of_kind("dropped")]
    assert any("'database' has no equivalent" in m for m in messages)
    assert any("its source 'legacy-db'" in m for m in messages)


def test_a_disabled_source_gives_disabled_pipelines(export: Writer) -> None:
    export("crm.json", {"name": "CRM", "type": "json-api", "location": "https://crm", "isEnabled": False})
    export("s.json", _sync())
    config = import_openconnector([export.root]).config  # type: ignore[attr-defined]
    assert config["pipelines"]["people"]["enabled"] is False


def test_synchronization_settings(export: Writer) -> None:
    export(
        "crm.json",
        {"name": "CRM", "type": "api", "location": "https://crm", "configuration": {"listMethod": "POST"}},
    )
    export(
        "s.json",
        _sync(
            sourceConfig={
                "endpoint": "/people",
                "resultsPosition": "_root",
                "idPosition": "@attributes.identifier",
                "usesPagination": "false",
                "paginationQuery": "p",
                "headers.X-Tenant": "north",
                "headers.X-Api-Key": "key-abcdef123",
                "restrictDeletion": True,
            },
            conditions={"and": [{"==": [{"var": "status"}, "open"]}, {">": [{"var": "meta.count"}, 0]}]},
            sourceHashMapping="7",
            followUps=["12"],
            currentPage=4,
        ),
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    pipeline = result.config["pipelines"]["people"]
    assert pipeline["read"] == {
        "path": "/people",
        "method": "POST",
        "headers": {"X-Tenant": "north", "X-Api-Key": "${CRM_X_API_KEY}"},
        "id": "@attributes.identifier",
    }
    assert pipeline["filter"] == "((status == 'open') and (meta.count > 0))"
    keys = {e.key: e.kind for e in result.report.entries}
    assert keys["sourceConfig.paginationQuery"] == "dropped"
    assert keys["sourceConfig.restrictDeletion"] == "dropped"
    assert keys["sourceHashMapping"] == "dropped"
    assert keys["followUps"] == "dropped"
    assert keys["conditions"] == "changed"  # strict == instead of JSON Logic's loose one
    assert "key-abcdef123" not in result.text


def test_conditions_that_do_not_translate_are_reported_with_their_json(export: Writer) -> None:
    export("s.json", _sync(conditions={"some": [{"var": "tags"}, {"==": [{"var": ""}, "x"]}]}))
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert "filter" not in result.config["pipelines"]["people"]
    [entry] = [e for e in result.report.of_kind("dropped") if e.key == "conditions"]
    assert "'some'" in entry.message and '{"some": [' in entry.message


@pytest.mark.parametrize(
    ("logic", "expr"),
    [
        ({"==": [{"var": "a.b.0"}, 1]}, "(a.b[0] == 1)"),
        ({"!": {"var": "deleted"}}, "(not deleted)"),
        ({"in": ["x", {"var": "tags"}]}, "('x' in tags)"),
        ({"<": [1, {"var": "n"}, 10]}, "(1 < n < 10)"),
        ({"if": [{"var": "a"}, "y", "n"]}, "('y' if a else 'n')"),
        ({"var": ["missing", 5]}, "(missing if missing is defined and missing is not none else 5)"),
        ({"cat": [{"var": "a"}, "-", {"var": "b"}]}, "(a ~ '-' ~ b)"),
        ({"!=": [{"var": "x.my-key"}, None]}, "(x['my-key'] != none)"),
    ],
)
def test_json_logic_translation(logic: object, expr: str) -> None:
    assert to_filter(logic)[0] == expr


def test_translated_filters_run_as_filters() -> None:
    from openconnector.mapping import compile_expression

    expr, _ = to_filter({"and": [{"==": [{"var": "status"}, "open"]}, {">=": [{"var": "n"}, 2]}]})
    keep = compile_expression(expr)
    assert keep({"status": "open", "n": 2}) and not keep({"status": "open", "n": 1})


@pytest.mark.parametrize("logic", [{"var": ""}, {"var": "1abc"}, {"map": []}, {"a": 1, "b": 2}, {"==": [1]}])
def test_json_logic_without_translation(logic: object) -> None:
    with pytest.raises(Untranslatable):
        to_filter(logic)


def test_jobs_become_schedule_triggers(export: Writer) -> None:
    export("s.json", _sync(id=12))
    export(
        "job.json",
        {
            "name": "Sync people",
            "jobClass": "OCA\\OpenConnector\\Action\\SynchronizationAction",
            "arguments": {"synchronizationId": 12},
            "interval": 900,
            "isEnabled": True,
        },
    )
    export(
        "job2.json",
        {
            "name": "Odd",
            "jobClass": "SynchronizationAction",
            "arguments": {"synchronizationId": 12},
            "interval": 700,
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["pipelines"]["people"]["triggers"] == [{"schedule": "*/15 * * * *"}]
    [odd] = [e for e in result.report.of_kind("dropped") if e.key == "interval"]
    assert "700" in odd.message


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [(60, "* * * * *"), (300, "*/5 * * * *"), (3600, "0 * * * *"), (21600, "0 */6 * * *"),
     (86400, "0 0 * * *"), (604800, "0 0 * * 0"), (90, None), (4200, None), (0, None)],
)  # fmt: skip
def test_interval_to_cron(seconds: int, cron: str | None) -> None:
    assert interval_to_cron(seconds) == cron


def test_configuration_bundles_and_lists_are_read(export: Writer) -> None:
    export(
        "bundle.json",
        {
            "openapi": "3.0.0",
            "components": {
                "sources": {"crm": {"name": "CRM", "type": "api", "location": "https://crm"}},
                "mappings": {"default": [{"name": "Person", "mapping": {"n": "name"}}]},
                "synchronizations": {"sync": [_sync(sourceId="crm", sourceTargetMapping="person")]},
                "endpoints": {"people": {"name": "People API", "endpoint": "/people", "method": "GET"}},
            },
        },
    )
    export("list.json", [{"name": "Other", "mapping": {}}, {"hello": "world"}])
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["pipelines"]["people"]["source"] == "crm"
    assert result.config["pipelines"]["people"]["mapping"] == "person"
    assert set(result.config["mappings"]) == {"person", "other"}
    skipped = {(e.file, e.key) for e in result.report.of_kind("skipped")}
    assert ("list.json", "[1]") in skipped
    assert ("bundle.json", "components.endpoints.people") in skipped


@pytest.mark.parametrize(
    ("obj", "kind"),
    [
        ({"name": "x", "location": "https://x", "type": "api"}, "source"),
        ({"name": "x", "mapping": {}, "passTrough": False}, "mapping"),
        ({"sourceId": "1", "targetId": "1/1"}, "synchronization"),
        ({"jobClass": "X", "interval": 60}, "job"),
        ({"endpoint": "/x", "method": "GET", "targetType": "api"}, "endpoint"),
        ({"@type": "source", "name": "x"}, "source"),
        ({"name": "x", "location": "somewhere"}, None),
        ({"foo": "bar"}, None),
    ],
)
def test_classify(obj: dict[str, object], kind: str | None) -> None:
    assert classify(obj) == kind


def test_pass_through_spellings(export: Writer) -> None:
    export("a.json", {"name": "A", "mapping": {}, "passThrough": True})
    export("b.json", {"name": "B", "mapping": {}, "passTrough": True})
    export("c.json", {"name": "C", "mapping": {}, "passthrough": False})
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    mappings = result.config["mappings"]
    assert [mappings[n]["pass_through"] for n in "abc"] == [True, False, False]
    b = next(e for e in result.report.entries if e.file == "b.json" and e.key == "passTrough")
    assert b.kind == "changed" and "set pass_through: true" in b.message


def test_a_literal_dollar_brace_survives_the_yaml_interpolation(export: Writer) -> None:
    export("a.json", {"name": "A", "mapping": {"price": "${{ amount }}"}})
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["mappings"]["a"]["mapping"]["price"] == "$${{ amount }}"


def test_unknown_keys_are_dropped_not_ignored(export: Writer) -> None:
    export("a.json", {"name": "A", "mapping": {}, "frobnicate": 3, "id": 4, "dateCreated": "2024-01-01"})
    report = import_openconnector([export.root]).report  # type: ignore[attr-defined]
    entries = {e.key: e for e in report.entries if e.file == "a.json"}
    assert entries["frobnicate"].kind == "dropped"
    assert entries["id, dateCreated"].kind == "metadata"


def test_token_settings_no_header_uses_are_reported_without_their_secrets(export: Writer) -> None:
    export(
        "s.json",
        {
            "name": "S",
            "type": "api",
            "location": "https://s",
            "configuration": {"authentication": {"grant_type": "password", "password": "pw-hunter2"}},
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    [entry] = [e for e in result.report.entries if e.key.startswith("configuration.authentication")]
    assert entry.kind == "dropped" and "grant_type, password" in entry.message
    assert "pw-hunter2" not in result.text + json.dumps(result.report.as_dict())


def test_a_soap_synchronization_reads_an_operation(export: Writer) -> None:
    export("soap.json", {"name": "Stuf", "type": "soap", "location": "https://stuf.example.org/wsdl"})
    export(
        "s.json", _sync(sourceId="stuf", sourceConfig={"endpoint": "/GetZaken", "resultsPosition": "zaken"})
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    assert result.config["sources"]["stuf"]["type"] == "soap"
    assert result.config["pipelines"]["people"]["read"] == {"operation": "GetZaken", "records": "zaken"}


def test_credentials_in_the_location_are_taken_out(export: Writer) -> None:
    export(
        "s.json",
        {
            "name": "S",
            "type": "api",
            "location": "https://robot:pw-hunter2@s.example.org:8443/api?token=key-abcdef123&x=1",
        },
    )
    result = import_openconnector([export.root])  # type: ignore[attr-defined]
    source = result.config["sources"]["s"]
    assert source["location"] == "https://s.example.org:8443/api?token=${S_TOKEN}&x=1"
    assert source["auth"] == {"type": "basic", "username": "robot", "password": "${S_PASSWORD}"}
    assert "pw-hunter2" not in result.text and "key-abcdef123" not in result.text
