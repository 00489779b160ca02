"""Bearer tokens: 401 without a valid one, 403 for the wrong role; only a hash is stored."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from typer.testing import CliRunner

from openconnector import jsonutil
from openconnector.cli import app
from tests.triggers.service import Server


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    return dict(body["error"])


def test_missing_wrong_and_revoked_tokens_are_401(server: Server) -> None:
    with server.client(role=None) as anonymous:
        err = assert_error(anonymous.get("/api/runs"), 401, "unauthorized")
        assert "Bearer" in err["message"]
        assert anonymous.get("/api/runs").headers["www-authenticate"] == "Bearer"
        assert_error(
            anonymous.get("/api/runs", headers={"Authorization": "Bearer oc_nope"}), 401, "unauthorized"
        )
        assert_error(anonymous.get("/api/runs", headers={"Authorization": "Basic dTpw"}), 401, "unauthorized")
        viewer = {"Authorization": f"Bearer {server.tokens['viewer']}"}
        assert anonymous.get("/api/runs", headers=viewer).status_code == 200
        assert server.service.tokens.revoke("test-viewer")
        assert_error(anonymous.get("/api/runs", headers=viewer), 401, "unauthorized")


def test_roles_viewer_reads_operator_runs_admin_configures(server: Server) -> None:
    with server.client("viewer") as viewer, server.client("operator") as operator, server.client() as admin:
        assert viewer.get("/api/pipelines").status_code == 200
        err = assert_error(viewer.post("/api/pipelines/people/run"), 403, "forbidden")
        assert "operator" in err["message"] and "viewer" in err["message"]
        assert_error(viewer.post("/api/objects/crm/person", json={"name": "x", "age": 1}), 403, "forbidden")
        assert operator.post("/api/objects/crm/person", json={"name": "x", "age": 1}).status_code == 201
        body = {"type": "webhook"}
        assert_error(operator.put("/api/sources/new-src", json=body), 403, "forbidden")
        assert_error(operator.get("/api/config/export"), 403, "forbidden")
        assert admin.put("/api/sources/new-src", json=body).status_code == 201


def test_object_writes_record_the_token_as_actor(server: Server) -> None:
    with server.client("operator") as operator:
        created = operator.post("/api/objects/crm/person", json={"name": "Ann", "age": 30}).json()
        object_id = created["@self"]["id"]
        history = operator.get(f"/api/objects/crm/person/{object_id}/history").json()
        assert history[0]["actor"] == "token:test-operator"


def test_operations_endpoints_need_no_token(server: Server) -> None:
    with server.client(role=None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json() == {"status": "ready"}
        metrics = anonymous.get("/metrics")
        assert metrics.status_code == 200 and "openconnector_runs_in_progress" in metrics.text
        assert anonymous.get("/openapi.json").json()["info"]["title"] == "OpenConnector"


def test_tokens_cli_prints_once_and_stores_only_a_hash(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENCONNECTOR_DATABASE_URL", raising=False)
    runner = CliRunner()
    out = runner.invoke(app, ["tokens", "create", "--role", "operator", "--name", "ci", "--json"])
    assert out.exit_code == 0, out.output
    token = jsonutil.loads(out.stdout)["token"]
    assert token.startswith("oc_") and len(token) > 40
    again = runner.invoke(app, ["tokens", "create", "--role", "operator", "--name", "ci"])
    assert again.exit_code == 2 and "exists already" in again.output
    bad = runner.invoke(app, ["tokens", "create", "--role", "root", "--name", "x"])
    assert bad.exit_code == 2 and "unknown role" in bad.output

    listing = runner.invoke(app, ["tokens", "list", "--json"])
    assert token not in listing.stdout
    rows = jsonutil.loads(listing.stdout)["results"]
    assert [(r["name"], r["role"]) for r in rows] == [("ci", "operator")]
    engine = sa.create_engine(f"sqlite:///{tmp_path / '.openconnector' / 'openconnector.db'}")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT * FROM api_tokens")).mappings().all()
    engine.dispose()
    assert len(stored) == 1 and token not in str(dict(stored[0]))
    assert len(stored[0]["hash"]) == 64

    from openconnector.auth import TokenStore
    from openconnector.registers import Store

    tokens = TokenStore(Store(None).engine)
    assert tokens.verify(token) is not None and tokens.verify(token).role == "operator"  # type: ignore[union-attr]
    revoked = runner.invoke(app, ["tokens", "revoke", "ci"])
    assert revoked.exit_code == 0
    assert TokenStore(Store(None).engine).verify(token) is None
    assert runner.invoke(app, ["tokens", "revoke", "ci"]).exit_code == 1
