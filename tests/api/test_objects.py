"""Objects over HTTP: filters, paging, ordering, validated and versioned writes, 404/422."""

from __future__ import annotations

from tests.api.test_auth import assert_error
from tests.triggers.service import Server


def seed(client, n: int = 5) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        body = {"name": f"P{i}", "age": 20 + i, "city": "Utrecht" if i % 2 else "Delft", "active": i % 2 == 0}
        r = client.post("/api/objects/crm/person", json=body)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_list_filters_paging_and_order(server: Server) -> None:
    with server.client("operator") as c:
        seed(c, 5)
        page = c.get("/api/objects/crm/person", params={"_limit": 2}).json()
        assert set(page) == {"results", "total", "limit", "offset"}
        assert page["total"] == 5 and page["limit"] == 2 and len(page["results"]) == 2
        assert page["results"][0]["@self"]["register"] == "crm"
        rest = c.get("/api/objects/crm/person", params={"_limit": 10, "_offset": 2}).json()
        assert len(rest["results"]) == 3 and rest["offset"] == 2
        utrecht = c.get("/api/objects/crm/person", params={"city": "Utrecht"}).json()
        assert utrecht["total"] == 2 and {o["name"] for o in utrecht["results"]} == {"P1", "P3"}
        both = c.get("/api/objects/crm/person", params={"city": "Delft", "active": "true"}).json()
        assert both["total"] == 3
        assert c.get("/api/objects/crm/person", params={"age": "22"}).json()["results"][0]["name"] == "P2"
        desc = c.get("/api/objects/crm/person", params={"_order": "-age"}).json()
        assert [o["age"] for o in desc["results"]] == [24, 23, 22, 21, 20]
        meta = c.get("/api/objects/crm/person", params={"_order": "-@self.created_at"}).json()
        assert meta["results"][0]["name"] == "P4"


def test_bad_list_parameters_are_422_with_where(server: Server) -> None:
    with server.client("viewer") as c:
        err = assert_error(c.get("/api/objects/crm/person", params={"_limit": -1}), 422, "invalid_request")
        assert err["details"][0]["path"] == "query._limit"
        assert_error(c.get("/api/objects/crm/person", params={"_limit": "many"}), 422, "invalid_request")
        err = assert_error(c.get("/api/objects/crm/person", params={"_sort": "age"}), 422, "invalid_request")
        assert "_sort" in err["message"]
        err = assert_error(
            c.get("/api/objects/crm/person", params={"_order": "@self.secret"}), 422, "invalid_request"
        )
        assert "cannot order by" in err["message"]
        assert_error(c.get("/api/objects/crm/nope"), 404, "not_found")
        assert_error(c.get("/api/objects/nope/person"), 404, "not_found")


def test_create_get_replace_delete_with_versions(server: Server) -> None:
    with server.client("operator") as c:
        created = c.post("/api/objects/crm/person", json={"name": "Ann", "age": 30})
        assert created.status_code == 201
        doc = created.json()
        oid = doc["@self"]["id"]
        assert doc["@self"]["version"] == 1 and doc["name"] == "Ann"
        got = c.get(f"/api/objects/crm/person/{oid}").json()
        assert got == doc
        got["age"] = 31  # a client sends back what it got, @self included: ignored
        replaced = c.put(f"/api/objects/crm/person/{oid}", json=got)
        assert replaced.status_code == 200 and replaced.json()["@self"]["version"] == 2
        history = c.get(f"/api/objects/crm/person/{oid}/history").json()
        assert [(h["version"], h["data"]["age"]) for h in history] == [(2, 31), (1, 30)]
        assert c.delete(f"/api/objects/crm/person/{oid}").status_code == 204
        assert_error(c.get(f"/api/objects/crm/person/{oid}"), 404, "not_found")
        assert c.get("/api/objects/crm/person").json()["total"] == 0
        assert_error(c.delete(f"/api/objects/crm/person/{oid}"), 404, "not_found")


def test_invalid_objects_are_refused_with_every_error(server: Server) -> None:
    with server.client("operator") as c:
        r = c.post("/api/objects/crm/person", json={"age": -3, "city": 5})
        err = assert_error(r, 422, "invalid_object")
        paths = sorted(d["path"] for d in err["details"])
        assert paths == ["$", "$.age", "$.city"], err  # name missing, age < 0, city not a string
        assert c.get("/api/objects/crm/person").json()["total"] == 0
        assert_error(c.post("/api/objects/crm/person", content=b"[1, 2]"), 422, "invalid_request")
        assert_error(
            c.post(
                "/api/objects/crm/person", content=b"{not json", headers={"content-type": "application/json"}
            ),
            422,
            "invalid_request",
        )
        ok = c.post("/api/objects/crm/person", json={"name": "A", "age": 1}).json()
        oid = ok["@self"]["id"]
        err = assert_error(
            c.put(f"/api/objects/crm/person/{oid}", json={"name": 5, "age": 1}), 422, "invalid_object"
        )
        assert err["details"][0]["path"] == "$.name"
        assert c.get(f"/api/objects/crm/person/{oid}").json()["@self"]["version"] == 1  # nothing written
        assert_error(
            c.put("/api/objects/crm/person/no-such-id", json={"name": "A", "age": 1}), 404, "not_found"
        )
