"""Loading a WSDL (and what it imports) through the shared HTTP transport, once per process.

zeep parses a WSDL synchronously and fetches imports as it meets them. It runs in a worker thread;
each fetch it asks for is sent by the source's :class:`HttpTransport` on the event loop, so auth,
TLS, retries and the failed-call log apply to the WSDL exactly as to the calls. Credentials go only
to the source's own host: an import from another host is fetched without them.

Parsed documents are kept per process, keyed by location (and, for a file, its size and mtime), so
the scheduler's next run of the same pipeline does not parse the WSDL again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from zeep.exceptions import Error as ZeepError
from zeep.settings import Settings
from zeep.wsdl import Document

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.http import HttpTransport
from openconnector.connectors.http.xml import XMLSyntaxError

WHERE = "wsdl"

_CACHE: dict[tuple[Any, ...], Document] = {}
_CACHE_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def local_path(location: str) -> Path:
    """A WSDL location that is not an http(s) URL: a path, or a ``file://`` URL."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return Path(location).expanduser().absolute()


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return (u.scheme, u.host, u.port)


class WsdlLoader:
    """The object zeep calls ``load(url)`` on, from the loading thread (a zeep transport, for loading)."""

    def __init__(
        self,
        http: HttpTransport,
        loop: asyncio.AbstractEventLoop,
        *,
        home: str,
        anonymous: Callable[[], HttpTransport],
        wait: float,
    ) -> None:
        self.redactor = http.redactor
        self._link: tuple[HttpTransport, asyncio.AbstractEventLoop, Callable[[], HttpTransport]] | None = (
            http,
            loop,
            anonymous,
        )
        self.home = _origin(home)  # credentials go to this scheme/host/port only
        self.wait = wait
        self.loaded: list[str] = []

    def detach(self) -> None:
        """Let go of the transport and loop: a cached document keeps its loader for good."""
        self._link = None

    def load(self, url: str) -> bytes:
        self.loaded.append(url)
        if not is_url(url):
            path = local_path(url)
            try:
                return path.read_bytes()
            except OSError as exc:
                raise ConnectorError(f"cannot read {path}: {exc.strerror or exc}", where=WHERE) from None
        if self._link is None:  # pragma: no cover - zeep loads everything while the document is built
            raise ConnectorError(f"not loading {url} after the WSDL was parsed", where=WHERE)
        http, loop, anonymous = self._link
        transport = http if _origin(url) == self.home else anonymous()
        future = asyncio.run_coroutine_threadsafe(transport.request("GET", url, where=WHERE), loop)
        try:
            return future.result(timeout=self.wait).content
        except TimeoutError:
            future.cancel()
            raise ConnectorError(
                f"GET {transport.display(url)}: no answer within {self.wait:.0f}s", where=WHERE
            ) from None


@dataclass(frozen=True)
class WsdlRequest:
    location: str  # a URL, a file:// URL or a path
    strict: bool


def _key(req: WsdlRequest) -> tuple[Any, ...]:
    if is_url(req.location):
        return (req.location, req.strict)
    path = local_path(req.location)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConnectorError(
            f"cannot read the WSDL file {path}: {exc.strerror or exc}", where=WHERE
        ) from None
    return (str(path), stat.st_size, stat.st_mtime_ns, req.strict)


def settings_for(strict: bool) -> Settings:
    """zeep settings for a document and its replies: no DTDs or entities, ever."""
    return Settings(strict=strict, forbid_dtd=True, forbid_entities=True, xml_huge_tree=False)


def _parse(req: WsdlRequest, loader: WsdlLoader) -> Document:
    location = req.location if is_url(req.location) else str(local_path(req.location))
    try:
        return Document(location, loader, settings=settings_for(req.strict))  # type: ignore[arg-type]  # duck-typed
    except ConnectorError:
        raise
    except (ZeepError, XMLSyntaxError, ValueError, KeyError, AttributeError, NotImplementedError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        raise ConnectorError(
            f"the WSDL is not usable: {loader.redactor.text(reason)[:500]}", where=WHERE
        ) from None
    finally:
        loader.detach()


async def load_document(req: WsdlRequest, loader: WsdlLoader) -> Document:
    """The parsed WSDL: from this process's cache, or loaded now (in a worker thread)."""
    key = _key(req)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())

    def load() -> Document:
        with key_lock:  # one load per WSDL even when several runs start at once
            with _CACHE_LOCK:
                found = _CACHE.get(key)
            if found is not None:
                return found
            document = _parse(req, loader)
            with _CACHE_LOCK:
                _CACHE[key] = document
            return document

    return await asyncio.to_thread(load)


def forget_documents() -> None:
    """Empty the process cache (tests; a long-running service after a WSDL changed on a server)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _KEY_LOCKS.clear()


def wsdl_display(location: str, http: HttpTransport) -> str:
    return http.display(location) if is_url(location) else str(local_path(location))


__all__ = [
    "WHERE",
    "WsdlLoader",
    "WsdlRequest",
    "forget_documents",
    "is_url",
    "load_document",
    "local_path",
    "settings_for",
    "wsdl_display",
]
