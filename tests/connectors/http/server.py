"""A small real HTTP(S) server for connector tests: routes are plain functions, every request is kept.

It speaks real HTTP/1.1 over a real socket on 127.0.0.1 (``http.server`` in a thread), with
optional TLS — client certificates included — so the transport is exercised exactly as in
production. Reused by the REST, SOAP and GraphQL tests::

    server = HttpTestServer()

    @server.route("/people")
    def people(req: Request) -> Response:
        return Response.json({"data": [...]})

    with server:
        url = server.base_url
"""

from __future__ import annotations

import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass
class Request:
    method: str
    target: str  # the request target as sent (absolute-form when the server acts as a proxy)
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        return default if value is None else int(value)

    def json(self) -> Any:
        return orjson.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, orjson.dumps(value), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def text(
        cls,
        text: str | bytes,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = text.encode() if isinstance(text, str) else text
        return cls(status, body, {"Content-Type": content_type, **(headers or {})})


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # in this thread: a failing client never blocks accept()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        req = Request(
            method=self.command,
            target=self.path,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        owner = self.server.owner
        owner._record(req)
        handler = owner.routes.get((req.method, req.path)) or owner.routes.get(("*", req.path))
        if handler is None:
            resp = Response.json({"error": f"no route {req.method} {req.path}"}, status=404)
        else:
            try:
                resp = handler(req)
            except Exception as exc:  # a bug in a test route: show it as a 599, loudly
                resp = Response.text(f"test route failed: {type(exc).__name__}: {exc}", status=599)
        self.send_response(resp.status)
        headers = dict(resp.headers)
        headers.setdefault("Content-Length", str(len(resp.body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: HttpTestServer, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: TLS tests make clients fail on purpose."""


class HttpTestServer:
    """Routes, the requests received (``requests``, ``hits`` per path) and optional TLS."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.hits: Counter[str] = Counter()
        self.state: dict[str, Any] = {}  # scratch space for stateful routes
        self.ssl_context = ssl_context
        self.host = host
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def route(self, path: str, methods: Iterable[str] = ("GET",)) -> Callable[[Handler], Handler]:
        """Decorator: serve ``path`` (exact match) with the function; ``methods=("*",)`` for any."""

        def add(fn: Handler) -> Handler:
            for method in methods:
                self.routes[(method.upper(), path)] = fn
            return fn

        return add

    def _record(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)
            self.hits[req.path] += 1

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> str:
        self._server = _Server(self, self.host)
        if self.ssl_context is not None:
            self._server.socket = self.ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="http-test-server", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> HttpTestServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["Handler", "HttpTestServer", "Request", "Response"]
