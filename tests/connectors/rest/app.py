"""The REST test API: every pagination style, every failure the connector must survive.

Behaviour is chosen by query parameters (``?fail_page=3``, ``?cap=5``), so one server serves every
test and each test reads as what it asks the server to do.
"""

from __future__ import annotations

from typing import Any

from tests.connectors.http.apps import AuthApp, AuthKind
from tests.connectors.http.server import HttpTestServer, Request, Response

PEOPLE: list[dict[str, Any]] = [
    {
        "id": i,
        "name": f"Person {i}",
        "city": ["Utrecht", "Delft", "Assen"][i % 3],
        "updated_at": f"2024-01-{i:02d}T00:00:00Z",
    }
    for i in range(1, 26)
]


def _since(req: Request, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    since = req.arg("updated_since")
    return [p for p in people if p["updated_at"] >= since] if since else people


def _xml_person(p: dict[str, Any]) -> str:
    tags = "".join(f"<p:tag>{t}</p:tag>" for t in ("a", "b")[: 1 + p["id"] % 2])
    return (
        f'<p:person id="{p["id"]}"><p:name>{p["name"]}</p:name>'
        f'<p:city code="{p["city"][:2].upper()}">{p["city"]}</p:city>{tags}<p:note/></p:person>'
    )


class RestApi:
    def __init__(
        self, server: HttpTestServer, auth: AuthApp, people: list[dict[str, Any]] | None = None
    ) -> None:
        self.server = server
        self.auth = auth
        self.people = people if people is not None else PEOPLE
        r = server.route
        r("/people")(self.page)
        r("/offset")(self.offset)
        r("/cursor")(self.cursor)
        r("/next-body")(self.next_body)
        r("/next-header")(self.next_header)
        r("/list")(lambda req: Response.json(self.people))
        r("/one")(lambda req: Response.json(self.people[0]))
        r("/xml")(self.xml)
        r("/html")(
            lambda req: Response.text(
                "<!DOCTYPE html><html><body><h1>Please log in</h1></body></html>", content_type="text/html"
            )
        )
        r("/truncated")(
            lambda req: Response.text(b'{"data": [{"id": 1, "name": "Per', content_type="application/json")
        )
        r("/nan")(  # what Python's json.dumps and pandas write for a missing number
            lambda req: Response.text(
                b'{"data": [{"id": 1, "score": NaN}, {"id": 2, "score": 3.5}]}',
                content_type="application/json",
            )
        )
        r("/latin1")(  # a legacy system that declares its charset
            lambda req: Response.text(
                '{"data": [{"id": 1, "name": "José Müller"}]}'.encode("latin-1"),
                content_type="application/json; charset=ISO-8859-1",
            )
        )
        r("/bom-json")(  # .NET and PowerShell start UTF-8 with a byte order mark
            lambda req: Response.text(
                b'\xef\xbb\xbf{"data": [{"id": 1, "name": "Jos\xc3\xa9"}]}', content_type="application/json"
            )
        )
        r("/bom-xml")(  # ... and say nothing about the type
            lambda req: Response.text(
                b'\xef\xbb\xbf<?xml version="1.0"?><people><person><id>1</id></person></people>',
                content_type="text/plain",
            )
        )
        r("/bad-gzip")(  # says gzip, is not: a broken proxy or a misconfigured server
            lambda req: Response.text(
                b"this is not gzip", content_type="application/json", headers={"Content-Encoding": "gzip"}
            )
        )
        r("/loop")(lambda req: Response.text(b"", status=302, headers={"Location": "/loop"}))
        r("/mixed")(lambda req: Response.json({"data": [{"id": 1}, "not a record", 3, {"id": 2}]}))
        r("/search", methods=("POST",))(self.search)
        for kind in ("none", "basic", "bearer", "api_key_header", "api_key_query", "oauth2"):
            r(f"/auth/{kind}")(auth.protect(kind, self.page))  # type: ignore[arg-type]

    def _slice(self, req: Request, default_size: int = 10) -> tuple[list[dict[str, Any]], int, int]:
        people = _since(req, self.people)
        size = req.int_arg("per_page", default_size)
        size = min(size, req.int_arg("cap", 1000))
        page = req.int_arg("page", 1)
        return people[(page - 1) * size : page * size], page, size

    def page(self, req: Request) -> Response:
        rows, page, size = self._slice(req)
        fail = req.arg("fail_page")
        if fail is not None and int(fail) == page:
            return Response.text(f"boom: page {page} failed", 500)
        return Response.json(
            {"data": rows, "meta": {"page": page, "per_page": size, "total": len(self.people)}}
        )

    def offset(self, req: Request) -> Response:
        offset, limit = req.int_arg("offset", 0), min(req.int_arg("limit", 10), req.int_arg("cap", 1000))
        people = _since(req, self.people)
        return Response.json({"items": people[offset : offset + limit], "total": len(people)})

    def cursor(self, req: Request) -> Response:
        start = int(req.arg("cursor", "c0")[1:])  # type: ignore[index]
        rows = self.people[start : start + 10]
        following = start + 10
        nxt: str | None = f"c{following}" if following < len(self.people) else None
        if req.arg("loop"):
            nxt = "c0" if start else "c10"
        body: dict[str, Any] = {"results": rows}
        if not req.arg("omit"):
            body["paging"] = {"next": nxt}
        return Response.json(body)

    def next_body(self, req: Request) -> Response:
        rows, page, size = self._slice(req)
        more = page * size < len(self.people)
        return Response.json(
            {"data": rows, "links": {"next": f"next-body?page={page + 1}" if more else None}}
        )

    def next_header(self, req: Request) -> Response:
        rows, page, size = self._slice(req)
        headers = {}
        if page * size < len(self.people):
            host = "localhost" if req.arg("other_host") else "127.0.0.1"
            extra = "&other_host=1" if req.arg("other_host") else ""
            link = f"http://{host}:{self.server.port}/next-header?page={page + 1}{extra}"
            headers["Link"] = (
                f'<{link}>; rel="next", <http://127.0.0.1:{self.server.port}/next-header>; rel="first"'
            )
        return Response.json(rows, headers=headers)

    def xml(self, req: Request) -> Response:
        rows, _, _ = self._slice(req)
        body = "".join(_xml_person(p) for p in rows)
        doc = f'<?xml version="1.0"?><p:people xmlns:p="urn:people" count="{len(rows)}">{body}</p:people>'
        return Response.text(doc, content_type="application/xml")

    def search(self, req: Request) -> Response:
        city = req.json().get("city")
        return Response.json({"data": [p for p in self.people if p["city"] == city]})

    def protect(self, kind: AuthKind) -> None:
        """Require ``kind`` on /people too."""
        self.server.route("/people")(self.auth.protect(kind, self.page))


__all__ = ["PEOPLE", "RestApi"]
