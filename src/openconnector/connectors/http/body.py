"""Turning a response body into data, with errors that show what actually came back.

A body that is not what was expected (an HTML login page, a proxy's error page, JSON cut off
mid-way) is a :class:`ConnectorError` with a snippet of the body, never zero records.
"""

from __future__ import annotations

import codecs
from collections.abc import Collection
from typing import Any, Literal

import httpx
import orjson

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.http.calllog import snippet
from openconnector.connectors.http.masking import Redactor
from openconnector.jsonutil import loads_source

BodyFormat = Literal["json", "xml", "auto"]


def content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def sniff(ctype: str, content: bytes) -> Literal["json", "xml", "html"]:
    """The body's kind from its content type, or from its first bytes when the type says nothing."""
    if "json" in ctype:
        return "json"
    if "html" in ctype:
        return "html"
    if "xml" in ctype:
        return "xml"
    head = content[:200].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith(b"<"):
        return "html" if head.startswith((b"<!doctype html", b"<html")) else "xml"
    return "json"


def decode_body(
    response: httpx.Response,
    fmt: BodyFormat = "auto",
    *,
    shown: str,
    where: str | None = None,
    redactor: Redactor | None = None,
    xml_lists: Collection[str] = (),
) -> Any:
    """The parsed body of ``response`` (``None`` for 204 No Content).

    ``shown`` names the request in messages (``GET /people?page=3``).
    """
    content = response.content
    ctype = content_type(response)

    def fail(problem: str) -> ConnectorError:
        text = snippet(content)
        if redactor is not None:
            text = redactor.text(text)
        return ConnectorError(
            f"{shown}: {problem} (HTTP {response.status_code}, content-type {ctype or 'none'}): {text}",
            where=where,
        )

    if not content.strip():
        if response.status_code == 204:
            return None
        raise fail("the response body is empty")
    kind = sniff(ctype, content) if fmt == "auto" else fmt
    if kind == "html":
        raise fail("expected JSON or XML but the server sent an HTML page")
    if kind == "xml":
        from openconnector.connectors.http.xml import XMLSyntaxError, xml_to_dict  # lxml: 4 MB

        try:
            return xml_to_dict(content, xml_lists)
        except XMLSyntaxError as exc:
            raise fail(f"the response is not well-formed XML ({exc})") from None
    payload: bytes | str = content
    charset = response.charset_encoding  # declared in Content-Type; JSON is UTF-8 unless it says so
    if charset:
        try:
            if codecs.lookup(charset).name not in ("utf-8", "utf-8-sig"):
                payload = content.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise fail(f"the response is not valid {charset} as its Content-Type says ({exc})") from None
    try:
        return loads_source(payload)
    except orjson.JSONDecodeError as exc:
        truncated = exc.pos >= len(payload.rstrip()) - 1 or "end of data" in exc.msg.lower()
        what = "truncated JSON" if truncated else "not valid JSON"
        raise fail(f"the response is {what} ({exc})") from None


__all__ = ["BodyFormat", "content_type", "decode_body", "sniff"]
