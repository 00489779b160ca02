"""The demo REST source: a real HTTP/1.1 server over :class:`~openconnector.demo.people.People`.

``http.server.ThreadingHTTPServer`` with keep-alive and Nagle off is enough here: a page is a join
of cached bytes, so the server spends far less per page than the pipeline that reads it.

Endpoints::

    GET  /people?page=1&per_page=100&updated_since=2024-06-01T00:00:00Z
         → {"data": [...], "meta": {"page", "per_page", "total"}}   (per_page ≤ 1000)
    GET  /people/{id}            → one person
    POST /admin/revision?n=K     → {"revision": K}; revision K changes 10% of the records per step
    GET  /health                 → {"status": "ok", "records", "revision"}
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from openconnector.demo.people import People, parse_since

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


class _BadRequest(Exception):
    pass


def _int_arg(args: dict[str, list[str]], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = args.get(name, [None])[0]
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < low:
        raise _BadRequest(f"{name} must be >= {low}")
    return min(value, high) if high is not None else value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "OpenConnectorDemo/1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark makes thousands of requests."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, orjson.dumps(value))

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # keep the connection in step; no endpoint takes a body
        url = urlsplit(self.path)
        args = parse_qs(url.query)
        people = self.server.people
        path = url.path.rstrip("/") or "/"
        try:
            if self.command in ("GET", "HEAD") and path == "/people":
                page = _int_arg(args, "page", 1, 1)
                per_page = _int_arg(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
                since_raw = args.get("updated_since", [""])[0]
                try:
                    since = parse_since(since_raw) if since_raw else None
                except ValueError:
                    raise _BadRequest(f"updated_since is not a timestamp: {since_raw!r}") from None
                self._send(200, people.page(page, per_page, since).body)
            elif self.command in ("GET", "HEAD") and path.startswith("/people/"):
                ident = path.removeprefix("/people/")
                if not ident.isdigit() or not 1 <= int(ident) <= people.count:
                    self._json(404, {"error": f"no person {ident!r}"})
                else:
                    self._send(200, people.record_bytes(int(ident) - 1))
            elif self.command == "POST" and path == "/admin/revision":
                revision = _int_arg(args, "n", people.revision + 1, 0)
                people.set_revision(revision)
                self._json(200, {"revision": revision})
            elif self.command in ("GET", "HEAD") and path in ("/", "/health"):
                self._json(200, {"status": "ok", "records": people.count, "revision": people.revision})
            else:
                self._json(404, {"error": f"no route {self.command} {url.path}"})
        except _BadRequest as exc:
            self._json(400, {"error": str(exc)})

    do_GET = do_HEAD = do_POST = _route


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], people: People) -> None:
        self.people = people
        super().__init__(address, _Handler)


class DemoServer:
    """The demo source in a background thread: ``with DemoServer(records=500) as s: s.base_url``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, records: int = 500, revision: int = 0) -> None:
        self.host = host
        self.port = port
        self.people = People(records, revision)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the demo server is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def revision(self) -> int:
        return self.people.revision

    def set_revision(self, revision: int) -> None:
        self.people.set_revision(revision)

    def warm(self) -> None:
        """Encode every record now, so even the first read is served from cache (benchmarks)."""
        for i in range(self.people.count):
            self.people.record_bytes(i)

    def bind(self) -> str:
        """Open the listening socket (so the port is known) without serving yet."""
        if self._server is None:
            self._server = _Server((self.host, self.port), self.people)
        return self.base_url

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL (``http://127.0.0.1:PORT``)."""
        url = self.bind()
        if self._thread is None:
            assert self._server is not None
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="openconnector-demo", daemon=True
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``python -m openconnector.demo`` mode)."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "DemoServer"]
