"""The SOAP test service: a spyne application (SOAP 1.1 and 1.2) served by the shared test HTTP server.

spyne's WSGI applications are mounted on :class:`HttpTestServer` routes through a small WSGI
adapter, so SOAP calls go over a real socket and get the test server's TLS, client certificates,
request log and auth checks. Behaviour is set on :class:`PeopleState` (``fault_page``, ``total``).

Routes (each its own spyne application, so each WSDL names its own address):

* ``/soap11``, ``/soap12`` — the people service in SOAP 1.1 / 1.2;
* ``/wsse`` — SOAP 1.1, requiring a WS-Security UsernameToken (plain or digest);
* ``/oauth`` — SOAP 1.1 behind OAuth2 bearer tokens (token endpoint ``/oauth/token``);
* ``/html`` — answers every request with an HTML login page.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any
from urllib.parse import urlsplit

import httpx
from lxml import etree
from spyne import (
    Application,
    Boolean,
    ComplexModel,
    Date,
    DateTime,
    Decimal,
    Integer,
    ServiceBase,
    Unicode,
    rpc,
)
from spyne.error import Fault
from spyne.model.complex import Array, XmlAttribute
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

from tests.connectors.http.apps import AuthApp
from tests.connectors.http.server import Handler, HttpTestServer, Request, Response

NS = "urn:openconnector:test:people"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)

logging.getLogger("spyne.util.appreg").setLevel(logging.ERROR)  # one application per route, on purpose


class Person(ComplexModel):
    __namespace__ = NS
    kind = XmlAttribute(Unicode)
    id = Integer
    name = Unicode
    city = Unicode
    score = Decimal
    active = Boolean
    born = Date
    updated_at = DateTime
    tags = Unicode(max_occurs="unbounded")


@dataclass
class PeopleState:
    total: int = 25
    fault_page: int | None = None  # GetPeople(page=fault_page) answers with a fault
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def person(self, i: int) -> Person:
        return Person(
            kind="natural" if i % 2 else "legal",
            id=i,
            name=f"Person {i}",
            city=["Utrecht", "Delft", "Assen"][i % 3],
            score=D(f"{i}.5") if i % 2 else D(i),
            active=i % 4 != 0,
            born=(BASE_TIME + timedelta(days=i)).date(),
            updated_at=BASE_TIME + timedelta(hours=i),
            tags=["a"] if i % 2 else ["a", "b"],
        )

    def people(self, start: int, count: int, since: datetime | None = None) -> list[Person]:
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        ids = [
            i for i in range(1, self.total + 1) if since is None or BASE_TIME + timedelta(hours=i) >= since
        ]
        return [self.person(i) for i in ids[start : start + count]]


def people_application(state: PeopleState, protocol: type[Soap11]) -> WsgiApplication:
    class PeopleService(ServiceBase):
        @rpc(Integer, Integer, DateTime, _returns=Array(Person))
        def GetPeople(ctx: Any, page: int | None, size: int | None, since: datetime | None) -> list[Person]:
            page, size = page or 1, size or 10
            with state.lock:
                state.calls.append({"op": "GetPeople", "page": page, "size": size, "since": since})
            if state.fault_page is not None and page == state.fault_page:
                raise Fault("Server.Overloaded", f"the people database is overloaded (page {page})")
            return state.people((page - 1) * size, size, since)

        @rpc(Integer, Integer, _returns=Array(Person))
        def GetPeopleByOffset(ctx: Any, offset: int | None, limit: int | None) -> list[Person]:
            with state.lock:
                state.calls.append({"op": "GetPeopleByOffset", "offset": offset, "limit": limit})
            return state.people(offset or 0, limit or 10)

        @rpc(Integer, _returns=Person)
        def GetPerson(ctx: Any, id: int) -> Person:
            return state.person(id)

    app = Application([PeopleService], NS, in_protocol=protocol(validator="lxml"), out_protocol=protocol())
    return WsgiApplication(app)


def wsgi_route(server: HttpTestServer, app: Callable[..., Iterable[bytes]]) -> Handler:
    """Serve a WSGI application on a test-server route (the request as the WSGI environ)."""

    def handle(req: Request) -> Response:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": req.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": req.path,
            "QUERY_STRING": urlsplit(req.target).query,
            "CONTENT_TYPE": req.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(req.body)),
            "SERVER_NAME": server.host,
            "SERVER_PORT": str(server.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if server.ssl_context else "http",
            "wsgi.input": io.BytesIO(req.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in req.headers.items():
            if name not in ("content-type", "content-length"):
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started["status"], started["headers"] = status, headers

        body = b"".join(app(environ, start_response))
        headers = {k: v for k, v in started["headers"] if k.lower() != "content-length"}
        return Response(int(started["status"].split()[0]), body, headers)

    return handle


def soap11_fault(code: str, text: str) -> Response:
    body = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        f"<faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    )
    return Response.text(body, status=500, content_type="text/xml; charset=utf-8")


@dataclass
class WsseCheck:
    """Checks a UsernameToken the way a WS-Security server does (plain text or digest)."""

    username: str = "soap-user"
    password: str = "soap-s3cret-pw"
    seen: list[str] = field(default_factory=list)  # "text" or "digest", per accepted request

    def verify(self, body: bytes) -> str | None:
        """``None`` if the envelope carries a valid token, else the reason."""
        doc = etree.fromstring(body)
        token = doc.find(f".//{{{WSSE}}}UsernameToken")
        if token is None:
            return "no UsernameToken"
        user = token.findtext(f"{{{WSSE}}}Username")
        password = token.find(f"{{{WSSE}}}Password")
        if user != self.username or password is None:
            return "unknown user"
        if password.get("Type") == DIGEST:
            nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
            created = (token.findtext(f"{{{WSU}}}Created") or "").encode()
            expected = base64.b64encode(
                hashlib.sha1(nonce + created + self.password.encode()).digest()
            ).decode()
            if password.text != expected:
                return "bad digest"
            self.seen.append("digest")
            return None
        if password.text != self.password:
            return "bad password"
        self.seen.append("text")
        return None


class SoapService:
    """The test server with every SOAP route mounted."""

    def __init__(self, server: HttpTestServer) -> None:
        self.server = server
        self.state = PeopleState()
        self.auth = AuthApp(server)
        self.wsse = WsseCheck()
        for path, protocol in (("/soap11", Soap11), ("/soap12", Soap12)):
            server.route(path, methods=("GET", "POST"))(
                wsgi_route(server, people_application(self.state, protocol))
            )
        secured = wsgi_route(server, people_application(self.state, Soap11))

        def wsse(req: Request) -> Response:
            if req.method == "POST":
                problem = self.wsse.verify(req.body)
                if problem is not None:
                    return soap11_fault("Client", f"authentication failed: {problem}")
            return secured(req)

        server.route("/wsse", methods=("GET", "POST"))(wsse)
        server.route("/oauth", methods=("GET", "POST"))(
            self.auth.protect("oauth2", wsgi_route(server, people_application(self.state, Soap11)))
        )
        server.route("/html", methods=("GET", "POST"))(
            lambda req: Response.text(
                "<!DOCTYPE html><html><body>Log in</body></html>", content_type="text/html"
            )
        )

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def wsdl(self, path: str) -> bytes:
        """The WSDL text the route serves (for tests that load it from a file)."""
        return httpx.get(self.url(path) + "?wsdl", verify=False).content

    def calls(self, op: str = "GetPeople") -> list[dict[str, Any]]:
        with self.state.lock:
            return [c for c in self.state.calls if c["op"] == op]


__all__ = ["NS", "PeopleState", "SoapService", "WsseCheck", "people_application", "wsgi_route"]
