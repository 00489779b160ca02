"""The GraphQL test API: a strawberry schema with a Relay connection and an offset list, served by
uvicorn in a thread on a free port (optionally over TLS with client certificates).

Behaviour is set on :class:`PeopleState`: ``fail_page`` makes the connection fail on that page (errors
and no data), ``hidden_emails`` makes ``email`` fail for those ids (errors next to partial data),
``auth`` requires OAuth2 bearer tokens issued by an :class:`AuthApp`.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
import strawberry
import uvicorn
from graphql import GraphQLError
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionContext

from tests.connectors.http.apps import AuthApp
from tests.connectors.http.server import Request


@dataclass
class PeopleState:
    total: int = 25
    fail_page: int | None = None
    empty_page: int | None = None  # that page has no edges, yet says hasNextPage
    repeat_cursor_page: int | None = None  # that page's endCursor is the previous page's again
    hidden_emails: set[int] = field(default_factory=set)
    auth: AuthApp | None = None  # when set, every request needs a valid OAuth2 token
    revoke_after: int | None = None  # revoke every token once this many queries were answered
    answered: int = 0
    variables: list[dict[str, Any]] = field(default_factory=list)  # per request, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def person(self, i: int) -> Person:
        return Person(
            id=strawberry.ID(f"p-{i}"),
            name=f"Person {i}",
            number=i,
            updated_at=f"2024-01-01T{i % 24:02d}:00:{i // 24:02d}Z",
            address=Address(city=["Utrecht", "Delft", "Assen"][i % 3], postcode=f"{1000 + i} AB"),
        )


@strawberry.type
class Address:
    city: str
    postcode: str


@strawberry.type
class Person:
    id: strawberry.ID
    name: str
    number: int
    updated_at: str
    address: Address

    @strawberry.field
    def email(self, info: strawberry.Info) -> str | None:
        if self.number in info.context["state"].hidden_emails:
            raise PermissionError(f"email of {self.id} is not visible to this client")
        return f"person{self.number}@example.org"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class PersonEdge:
    cursor: str
    node: Person


@strawberry.type
class PersonConnection:
    edges: list[PersonEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field
    def nodes(self) -> list[Person]:
        return [edge.node for edge in self.edges]


def _selected(state: PeopleState, updated_since: str | None) -> list[int]:
    ids = range(1, state.total + 1)
    return [i for i in ids if updated_since is None or state.person(i).updated_at >= updated_since]


def _connection(
    state: PeopleState, first: int, after: str | None, updated_since: str | None
) -> PersonConnection:
    ids = _selected(state, updated_since)
    start = int(after.removeprefix("c")) + 1 if after else 0
    if state.fail_page is not None and start // first + 1 == state.fail_page:
        raise RuntimeError("the people index is being rebuilt")
    page = start // first + 1
    chosen = [] if page == state.empty_page else ids[start : start + first]
    edges = [PersonEdge(cursor=f"c{start + n}", node=state.person(i)) for n, i in enumerate(chosen)]
    more = start + first < len(ids)
    end = edges[-1].cursor if edges else (f"c{start + first - 1}" if more else None)
    if page == state.repeat_cursor_page:
        end = after
    return PersonConnection(
        edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=end), total_count=len(ids)
    )


@strawberry.type
class Query:
    @strawberry.field
    def people(
        self,
        info: strawberry.Info,
        first: int = 10,
        after: str | None = None,
        updated_since: str | None = None,
    ) -> PersonConnection:
        return _connection(info.context["state"], first, after, updated_since)

    @strawberry.field
    def nullable_people(
        self, info: strawberry.Info, first: int = 10, after: str | None = None
    ) -> PersonConnection | None:
        """The same connection, but nullable: a failure nulls the field, not the whole ``data``."""
        return _connection(info.context["state"], first, after, None)

    @strawberry.field
    def whoami(self, info: strawberry.Info) -> str:
        """Fails quoting the credential it was given, the way careless servers do."""
        raise PermissionError(f"{info.context['request'].headers.get('authorization')} may not ask this")

    @strawberry.field
    def people_list(self, info: strawberry.Info, offset: int = 0, limit: int = 10) -> list[Person]:
        state: PeopleState = info.context["state"]
        return [state.person(i) for i in _selected(state, None)[offset : offset + limit]]


class QuietSchema(strawberry.Schema):
    """Errors are the point of several tests: they go to the client, not to stderr."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        pass


SCHEMA = QuietSchema(query=Query)


class PeopleGraphQL(GraphQL):
    def __init__(self, state: PeopleState) -> None:
        super().__init__(SCHEMA)
        self.state = state

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response, "state": self.state}


def asgi_app(state: PeopleState) -> Any:
    """The GraphQL app behind a small gate: records variables, checks tokens when asked to."""
    graphql = PeopleGraphQL(state)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await graphql(scope, receive, send)
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with state.lock:
            if body:
                state.variables.append(orjson.loads(body).get("variables") or {})
            if state.revoke_after is not None and state.answered >= state.revoke_after and state.auth:
                state.auth.revoke_all()
                state.revoke_after = None
        if state.auth is not None:
            req = Request("POST", scope["path"], scope["path"], {}, headers, body)
            if not state.auth.ok(req, "oauth2"):
                payload = orjson.dumps({"errors": [{"message": "invalid or expired token"}]})
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json")]})  # fmt: skip
                await send({"type": "http.response.body", "body": payload})
                return None
        with state.lock:
            state.answered += 1
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await graphql(scope, replay, send)

    return app


class UvicornThread:
    """An ASGI app served by uvicorn in a background thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any, **ssl_options: Any) -> None:
        self.app = app
        self.ssl_options = ssl_options
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_options else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> UvicornThread:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="critical", lifespan="off", **self.ssl_options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.thread.join(timeout=10)


def tls_options(certfile: str, cafile: str | None = None) -> dict[str, Any]:
    """uvicorn's TLS settings; with ``cafile`` a client certificate signed by it is required."""
    options: dict[str, Any] = {"ssl_certfile": certfile, "ssl_keyfile": certfile}
    if cafile:
        options.update(ssl_ca_certs=cafile, ssl_cert_reqs=ssl.CERT_REQUIRED)
    return options


__all__ = ["PeopleState", "UvicornThread", "asgi_app", "tls_options"]
