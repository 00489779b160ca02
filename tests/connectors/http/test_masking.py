"""Redactor.url: the fast path for an already parsed URL masks exactly what the full parse does."""

from __future__ import annotations

import httpx
import pytest

from openconnector.connectors.http.masking import Redactor

URLS = [
    "http://127.0.0.1:8080/people?per_page=1000&page=17",
    "http://user:pw@host/p?a=1",
    "http://host/p?api_key=abc&b=2",
    "http://host/p?X-Custom=1",
    "http://host/p?q=s3cretvalue",
    "http://host/p?%61pi_key=zz",
    "http://host/p#frag?token=1",
    "http://host/p?a=%2A%2A%2A",
    "http://host:8080/a/b?c=d&e",
    "https://host/p?sig=1&x=y",
    "https://host/p?next=https%3A%2F%2Fother%2F%3Ftoken%3Dt",
    "https://host/p?Session=1",
]


@pytest.mark.parametrize("url", URLS)
def test_a_parsed_url_is_masked_as_its_text_is(url: str) -> None:
    r = Redactor(["x-custom"])
    r.add("s3cretvalue")
    assert r.url(httpx.URL(url)) == r.url(url)  # a str always takes the full parse


def test_what_is_masked() -> None:
    r = Redactor()
    assert r.url(httpx.URL("http://u:pw@h/p?token=t&page=2")) == "http://u:***@h/p?token=***&page=2"
    assert r.url(httpx.URL("http://h/p?page=2")) == "http://h/p?page=2"
