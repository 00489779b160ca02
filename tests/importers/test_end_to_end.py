"""An imported project runs: export → import → `openconnector run` against a real local REST server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from openconnector.cli import app
from tests.importers.conftest import Writer

CASES: list[dict[str, Any]] = [
    {
        "reference": f"Z-{i}",
        "instance": {"subject": "skip me" if i == 3 else f"case {i}", "closed": i % 2 == 0, "price": f"{i}0"},
    }
    for i in range(1, 6)
]


class _Cases(BaseHTTPRequestHandler):
    """Two pages of cases in the xxllnc v1 shape, then an empty page; wants the bearer token."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if self.headers.get("Authorization") != "Bearer test-token":
            self._send(401, {"error": "unauthorized"})
            return
        if url.path != "/api/cases":
            self._send(404, {"error": url.path})
            return
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        rows = CASES[(page - 1) * 3 : page * 3]
        self._send(200, {"result": {"instance": {"rows": rows, "pager": {"page": page}}}})

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cases_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Cases)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_an_imported_synchronization_runs_and_lands_mapped_objects(
    export: Writer, cases_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    export(
        "sources/cases.json",
        {
            "name": "Cases API",
            "type": "api",
            "location": cases_url,
            "isEnabled": True,
            "configuration": {"headers.Authorization": "Bearer the-token-in-the-export"},
        },
    )
    export(
        "mappings/case.json",
        {
            "id": 3,
            "name": "Case to zaak",
            "mapping": {
                "identificatie": "reference",
                "omschrijving": "{{ instance.subject|upper }}",
                "status": "{% if instance.closed %}closed{% else %}open{% endif %}",
                "prijs": "instance.price",
            },
            "cast": {"prijs": "int"},
            "passTrough": False,
        },
    )
    export(
        "synchronizations/cases.json",
        {
            "name": "Cases",
            "sourceType": "api",
            "sourceId": "Cases API",
            "sourceTargetMapping": "3",
            "sourceConfig": {
                "endpoint": "/cases",
                "resultsPosition": "result.instance.rows",
                "idPosition": "reference",
            },
            "conditions": {"!=": [{"var": "instance.subject"}, "skip me"]},
            "targetType": "register/schema",
            "targetId": "1/1",
        },
    )
    runner = CliRunner()
    out = tmp_path / "openconnector.yaml"
    imported = runner.invoke(app, ["import", "openconnector", str(export.root), "-o", str(out)])  # type: ignore[attr-defined]
    assert imported.exit_code == 0, imported.output
    assert "the-token-in-the-export" not in out.read_text()

    env = {
        "CASES_API_AUTHORIZATION": "test-token",
        "OPENCONNECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
    }
    run = runner.invoke(app, ["run", "cases", "-c", str(out), "--json"], env=env)
    assert run.exit_code == 0, run.output
    counts = json.loads(run.stdout)["counts"]
    assert counts["read"] == 5 and counts["created"] == 4 and counts["filtered"] == 1

    listed = runner.invoke(
        app, ["objects", "register-1/schema-1", "--json", "--order", "identificatie"], env=env
    )
    assert listed.exit_code == 0, listed.output
    objects = [{k: v for k, v in o.items() if k != "@self"} for o in json.loads(listed.stdout)["results"]]
    assert objects[0] == {"identificatie": "Z-1", "omschrijving": "CASE 1", "status": "open", "prijs": 10}
    assert [o["identificatie"] for o in objects] == ["Z-1", "Z-2", "Z-4", "Z-5"]
    assert objects[1]["status"] == "closed"
