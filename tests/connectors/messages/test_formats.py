"""Message bodies: the format comes from read.format, else the content type, else the first bytes."""

from __future__ import annotations

import pytest

from openconnector.connectors.messages.formats import DecodeError, Decoder, MessageRead


def decoder(**read: object) -> Decoder:
    return Decoder(MessageRead.model_validate({"id": "id", **read}))


def test_content_type_decides_and_is_remembered_per_type() -> None:
    d = decoder()
    assert d(b'{"id": 1}', "application/json") == [{"id": 1}]
    assert d(b"<p><id>2</id></p>", "application/xml; charset=utf-8") == [{"p": {"id": "2"}}]
    # the same content types again, from the cache
    assert d(b'[{"id": 3}, {"id": 4}]', "application/json") == [{"id": 3}, {"id": 4}]
    assert d(b"<p><id>5</id></p>", "application/xml; charset=utf-8") == [{"p": {"id": "5"}}]


def test_body_sniffed_when_the_content_type_says_nothing() -> None:
    d = decoder()
    for ctype in (None, "", "application/octet-stream", "application/octet-stream"):
        assert d(b'  {"id": 1}', ctype) == [{"id": 1}]
        assert d(b"<p><id>2</id></p>", ctype) == [{"p": {"id": "2"}}]


def test_a_byte_order_mark_is_skipped() -> None:
    d = decoder()
    for ctype in (None, "application/json"):
        assert d(b'\xef\xbb\xbf{"id": 1}', ctype) == [{"id": 1}]
    assert d(b"\xef\xbb\xbf<p><id>2</id></p>", None) == [{"p": {"id": "2"}}]


def test_undecidable_and_broken_bodies_say_why() -> None:
    d = decoder()
    with pytest.raises(DecodeError, match="cannot tell the body's format"):
        d(b"just text", "text/plain")
    with pytest.raises(DecodeError, match="not valid JSON"):
        d(b'{"id": ', "application/json")
