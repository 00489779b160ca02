"""Registers, schemas, sources, mappings and pipelines through the API: validated exactly like
the YAML file (422 with every problem and its path), written back to the file, secrets masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from openconnector import jsonutil
from openconnector.cli import app
from tests.api.test_auth import assert_error
from tests.triggers.service import HOOK_SECRET, SOURCE_TOKEN, Server


def config_file(server: Server) -> dict[str, Any]:
    return yaml.safe_load(server.service.config.path.read_text())


def test_secrets_are_masked_everywhere(server: Server) -> None:
    with server.client() as c:
        texts = [
            c.get("/api/sources").text,
            c.get("/api/sources/mem").text,
            c.get("/api/pipelines").text,
            c.get("/api/pipelines/hooked").text,
            c.get("/api/config/export").text,
        ]
        for text in texts:
            assert SOURCE_TOKEN not in text and HOOK_SECRET not in text and "env-password-value" not in text
        mem = c.get("/api/sources/mem").json()
        assert mem["auth"] == {"type": "bearer", "token": "**********"}
        # a ${VAR} reference is shown as written: the variable's name is not a secret
        assert c.get("/api/sources/env-src").json()["auth"]["password"] == "${OC_TEST_SOURCE_PASSWORD}"
        assert c.get("/api/pipelines/hooked").json()["triggers"][0]["webhook"]["secret"] == "**********"


def test_masked_values_sent_back_keep_the_secret(server: Server) -> None:
    with server.client() as c:
        mem = c.get("/api/sources/mem").json()
        mem["description"] = "edited"
        r = c.put("/api/sources/mem", json=mem)
        assert r.status_code == 200, r.text
        written = config_file(server)["sources"]["mem"]
        assert written["auth"]["token"] == SOURCE_TOKEN and written["description"] == "edited"
        assert server.service.project.sources["mem"].auth.token.get_secret_value() == SOURCE_TOKEN  # type: ignore[union-attr]


def test_invalid_bodies_get_every_problem_with_its_path(server: Server) -> None:
    before = server.service.config.path.read_text()
    with server.client() as c:
        bad_pipeline = {
            "source": "nope",
            "read": {"dataset": "x", "bogus": 1},
            "target": "crm/persn",
            "on_missing": "sometimes",
            "triggers": [{"schedule": "every minute"}],
        }
        err = assert_error(c.put("/api/pipelines/broken", json=bad_pipeline), 422, "invalid_config")
        paths = {d["path"] for d in err["details"]}
        assert {
            "pipelines.broken.source",
            "pipelines.broken.target",
            "pipelines.broken.on_missing",
            "pipelines.broken.triggers[0].schedule",
        } <= paths, err["details"]
        assert all(d["message"] for d in err["details"])
        err = assert_error(
            c.put("/api/sources/s2", json={"type": "gated", "location": 5}), 422, "invalid_config"
        )
        assert {d["path"] for d in err["details"]} == {"sources.s2.location"}
        err = assert_error(
            c.put("/api/mappings/m2", json={"mapping": {"a": "{{ unclosed"}, "cast": {"a": "no-such-cast"}}),
            422,
            "invalid_config",
        )
        assert len(err["details"]) >= 2 and all(d["path"].startswith("mappings.m2") for d in err["details"])
        assert_error(c.post("/api/sources", json={"name": "has space", "config": {}}), 422, "invalid_request")
        assert_error(c.post("/api/sources", json={"config": {}}), 422, "invalid_request")
        err = assert_error(
            c.put("/api/registers/crm/schemas/person", json={"type": "no-such-type"}), 422, "invalid_config"
        )
        assert "JSON Schema" in err["details"][0]["message"]
        # a resource others depend on cannot be deleted
        err = assert_error(c.delete("/api/sources/mem"), 422, "invalid_config")
        assert {d["path"] for d in err["details"]} >= {"pipelines.people.source"}
        assert_error(c.delete("/api/mappings/nope"), 404, "not_found")
    assert server.service.config.path.read_text() == before  # nothing written


def test_crud_round_trip_writes_the_yaml_file_that_validate_accepts(server: Server) -> None:
    with server.client() as c:
        r = c.post("/api/registers", json={"name": "hr", "config": {"description": "HR"}})
        assert r.status_code == 201, r.text
        assert_error(c.post("/api/registers", json={"name": "hr", "config": {}}), 409, "exists")
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["nr"],
            "properties": {"nr": {"type": "integer"}},
        }
        r = c.post("/api/registers/hr/schemas", json={"name": "employee", "schema": schema})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 1 and r.json()["schema"] == schema
        r = c.post("/api/sources", json={"name": "hr-in", "config": {"type": "webhook"}})
        assert r.status_code == 201
        r = c.post(
            "/api/mappings", json={"name": "emp", "config": {"mapping": {"nr": "id"}, "cast": {"nr": "int"}}}
        )
        assert r.status_code == 201, r.text
        pipeline: dict[str, Any] = {
            "source": "hr-in",
            "read": {"records": "items", "id": "id"},
            "mapping": "emp",
            "target": "hr/employee",
            "triggers": [
                {"schedule": "0 6 * * *", "timezone": "Europe/Amsterdam"},
                {"webhook": {"secret": "${HR_HOOK}"}},
            ],
        }
        r = c.put("/api/pipelines/hr-sync", json=pipeline)
        err = assert_error(r, 422, "invalid_config")  # HR_HOOK is not set: interpolation is validated too
        assert err["details"][0]["path"] == "pipelines.hr-sync.triggers[1].webhook.secret"
        pipeline["triggers"][1] = {"webhook": {"secret": "${OC_TEST_SOURCE_PASSWORD}"}}
        r = c.put("/api/pipelines/hr-sync", json=pipeline)
        assert r.status_code == 201, r.text
        state = r.json()["@self"]
        assert (
            state["webhook"] == "/hooks/hr-sync" and state["schedules"][0]["timezone"] == "Europe/Amsterdam"
        )
        assert state["schedules"][0]["next"].endswith(("04:00:00.000000Z", "05:00:00.000000Z"))
        assert r.json()["triggers"][1]["webhook"]["secret"] == "${OC_TEST_SOURCE_PASSWORD}"

        schemas = c.get("/api/registers/hr/schemas").json()
        assert [s["name"] for s in schemas["results"]] == ["employee"]
        schema["properties"]["name"] = {"type": "string"}
        r = c.put("/api/registers/hr/schemas/employee", json=schema)
        assert r.status_code == 200 and r.json()["version"] == 2
        assert c.get("/api/registers/hr").json()["@self"]["schemas"] == ["employee"]

        # the file is the source of truth: it now holds all of it, and `validate` accepts it
        written = config_file(server)
        assert written["pipelines"]["hr-sync"]["target"] == "hr/employee"
        assert (
            written["pipelines"]["hr-sync"]["triggers"][1]["webhook"]["secret"]
            == "${OC_TEST_SOURCE_PASSWORD}"
        )
        assert Path(str(server.service.config.path) + ".bak").exists()
        result = CliRunner().invoke(app, ["validate", "-c", str(server.service.config.path), "--json"])
        assert result.exit_code == 0, result.output
        assert jsonutil.loads(result.stdout)["pipelines"] == 5

        export = c.get("/api/config/export")
        assert export.status_code == 200 and export.headers["content-type"].startswith("application/yaml")
        exported = server.service.config.path.parent / "exported.yaml"
        exported.write_text(export.text)
        result = CliRunner().invoke(app, ["validate", "-c", str(exported)])
        assert result.exit_code == 0, result.output
        assert yaml.safe_load(export.text)["registers"]["hr"]["schemas"]["employee"] == schema

        assert c.delete("/api/pipelines/hr-sync").status_code == 204
        assert c.delete("/api/mappings/emp").status_code == 204
        assert c.delete("/api/registers/hr/schemas/employee").status_code == 204
        assert_error(c.get("/api/registers/hr/schemas/employee"), 404, "not_found")
        assert "hr-sync" not in config_file(server)["pipelines"]
        assert_error(c.get("/api/pipelines/hr-sync"), 404, "not_found")


def test_schema_kept_in_its_own_file_is_written_there(server: Server) -> None:
    folder = server.service.config.path.parent
    with server.client() as c:
        schema = c.get("/api/registers/crm/schemas/person").json()
        assert schema["file"] == "person.json"
        body = schema["schema"]
        body["properties"]["email"] = {"type": "string"}
        r = c.put("/api/registers/crm/schemas/person", json=body)
        assert r.status_code == 200, r.text
    assert jsonutil.loads((folder / "person.json").read_bytes())["properties"]["email"] == {"type": "string"}
    assert config_file(server)["registers"]["crm"]["schemas"]["person"] == "person.json"


def test_unknown_resources_are_404(server: Server) -> None:
    with server.client("viewer") as c:
        for path in ("/api/sources/nope", "/api/mappings/nope", "/api/pipelines/nope", "/api/registers/nope"):
            assert_error(c.get(path), 404, "not_found")
        assert_error(c.get("/api/registers/crm/schemas/nope"), 404, "not_found")
        assert_error(c.get("/api/nothing-here"), 404, "not_found")
        assert_error(c.delete("/healthz"), 405, "method_not_allowed")
