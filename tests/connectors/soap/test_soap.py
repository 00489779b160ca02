"""The soap connector against a real spyne service (SOAP 1.1 and 1.2) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import ValidationError

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.soap import SoapConnector, SoapRead, SoapSource, to_json
from tests.connectors.http.server import Response
from tests.connectors.http.tls import Pki
from tests.connectors.soap.conftest import FAST, Reader
from tests.connectors.soap.service import SoapService

PAGED: dict[str, Any] = {
    "operation": "GetPeople",
    "arguments": {"page": "{{ page }}", "size": 10},
    "pagination": {"type": "page", "size": 10},
}


def test_registered_under_soap() -> None:
    assert get_connector("soap") is SoapConnector


# -- reading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/soap11", "/soap12"])
async def test_page_pagination_in_soap_1_1_and_1_2(read: Reader, soap: SoapService, path: str) -> None:
    r = await read(PAGED, path=path)
    assert r.error is None
    assert r.ids == list(range(1, 26))
    assert [b.where for b in r.batches] == ["page 1", "page 2", "page 3"]
    assert [c["page"] for c in soap.calls()] == [1, 2, 3]  # short page 3 after full ones: the end
    assert r.ctx.complete
    posted = soap.server.requests_to(path)[-1]
    if path == "/soap12":
        assert posted.headers["content-type"].startswith("application/soap+xml")
        assert b"http://www.w3.org/2003/05/soap-envelope" in posted.body
    else:
        assert posted.headers["content-type"].startswith("text/xml")
        assert posted.headers["soapaction"] == '"GetPeople"'
        assert b"http://schemas.xmlsoap.org/soap/envelope/" in posted.body


async def test_records_follow_the_documented_json_rule(read: Reader) -> None:
    r = await read(PAGED)
    one, two = r.records[0], r.records[1]
    assert one == {
        "kind": "natural",  # an attribute: a plain key
        "id": 1,  # xsd:integer
        "name": "Person 1",
        "city": "Delft",
        "score": 1.5,  # xsd:decimal with a fraction
        "active": True,
        "born": "2024-01-02",
        "updated_at": "2024-01-01T01:00:00+00:00",
        "tags": ["a"],  # maxOccurs="unbounded": a list even with one item
    }
    assert two["score"] == 2 and isinstance(two["score"], int)  # no fraction: an integer
    assert two["tags"] == ["a", "b"]


async def test_offset_pagination(read: Reader, soap: SoapService) -> None:
    r = await read(
        {
            "operation": "GetPeopleByOffset",
            "arguments": {"offset": "{{ offset }}", "limit": "{{ limit }}"},
            "pagination": {"type": "offset", "limit": 10},
        }
    )
    assert r.error is None and r.ids == list(range(1, 26))
    assert [(c["offset"], c["limit"]) for c in soap.calls("GetPeopleByOffset")] == [
        (0, 10),
        (10, 10),
        (20, 10),
    ]


async def test_single_call_without_pagination_and_a_single_object_result(read: Reader) -> None:
    r = await read({"operation": "GetPerson", "arguments": {"id": 7}})
    assert r.error is None and r.ids == [7]
    assert len(r.batches) == 1


async def test_batches_are_split_by_batch_size(read: Reader) -> None:
    r = await read({**PAGED, "batch_size": 4})
    assert r.ids == list(range(1, 26))
    assert [len(b.records) for b in r.batches] == [4, 4, 2, 4, 4, 2, 4, 1]


async def test_max_pages_makes_the_read_incomplete(read: Reader, soap: SoapService) -> None:
    r = await read({**PAGED, "max_pages": 2})
    assert r.error is None and r.ids == list(range(1, 21))
    assert not r.ctx.complete and "max_pages (2) reached" in (r.ctx.reason or "")
    assert len(soap.calls()) == 2


async def test_incremental_cursor_in_a_template_and_as_an_argument(read: Reader, soap: SoapService) -> None:
    since = "2024-01-01T20:00:00+00:00"  # records 20..25
    inc = {"incremental": {"cursor": "updated_at"}}
    r = await read(
        {**PAGED, **inc, "arguments": {**PAGED["arguments"], "since": "{{ cursor }}"}}, cursor=since
    )
    assert r.ids == [20, 21, 22, 23, 24, 25]
    assert soap.calls()[-1]["since"] == dt.datetime(2024, 1, 1, 20, tzinfo=dt.UTC)
    soap.state.calls.clear()
    by_param = {"incremental": {"cursor": "updated_at", "param": "since", "lookback": 3600}}
    r = await read({**PAGED, **by_param}, cursor=since)
    assert r.ids == [19, 20, 21, 22, 23, 24, 25]  # an hour of lookback
    soap.state.calls.clear()
    r = await read({**PAGED, **by_param}, cursor=since, full=True)
    assert len(r.ids) == 25 and soap.calls()[0]["since"] is None


async def test_template_variables_and_cursor_are_null_before_the_first_run(
    read: Reader, soap: SoapService
) -> None:
    r = await read({**PAGED, "arguments": {**PAGED["arguments"], "since": "{{ cursor }}"}})
    assert len(r.ids) == 25 and soap.calls()[0]["since"] is None


# -- WSDL ---------------------------------------------------------------------------------------------


async def test_wsdl_from_a_local_file_is_parsed_once_per_process(
    read: Reader, soap: SoapService, tmp_path: Path
) -> None:
    wsdl = tmp_path / "people.wsdl"
    wsdl.write_bytes(soap.wsdl("/soap11"))
    fetched_before = len([r for r in soap.server.requests_to("/soap11") if r.method == "GET"])
    for _ in range(2):
        r = await read(PAGED, source={"wsdl": str(wsdl)})
        assert r.error is None and len(r.ids) == 25
    assert len([r for r in soap.server.requests_to("/soap11") if r.method == "GET"]) == fetched_before


async def test_wsdl_url_is_fetched_once_per_process(read: Reader, soap: SoapService) -> None:
    for _ in range(3):
        r = await read(PAGED)
        assert r.error is None
    assert len([r for r in soap.server.requests_to("/soap11") if r.method == "GET"]) == 1


async def test_address_comes_from_the_wsdl_without_a_location(read: Reader, soap: SoapService) -> None:
    r = await read(PAGED, source={"location": "", "wsdl": soap.url("/soap12") + "?wsdl"})
    assert r.error is None and len(r.ids) == 25
    assert len([q for q in soap.server.requests_to("/soap12") if q.method == "POST"]) == 3


async def test_a_wsdl_that_is_not_there(read: Reader, soap: SoapService) -> None:
    url = soap.url("/missing?wsdl")
    r = await read(PAGED, source={"wsdl": url})
    assert r.error is not None and r.records == []
    assert str(r.error).startswith(f"wsdl: cannot load the WSDL {url}: GET {url}: HTTP 404")


async def test_a_wsdl_that_is_an_html_page(read: Reader, soap: SoapService) -> None:
    r = await read(PAGED, source={"wsdl": soap.url("/html")})
    assert r.error is not None
    assert f"cannot load the WSDL {soap.url('/html')}: the WSDL is not usable" in str(r.error)


async def test_a_wsdl_file_that_is_missing_or_not_a_wsdl(read: Reader, tmp_path: Path) -> None:
    r = await read(PAGED, source={"wsdl": str(tmp_path / "nope.wsdl")})
    assert r.error is not None and "cannot read the WSDL file" in str(r.error) and "nope.wsdl" in str(r.error)
    bad = tmp_path / "bad.wsdl"
    bad.write_text("<definitions><unclosed></definitions>")
    r = await read(PAGED, source={"wsdl": str(bad)})
    assert r.error is not None and f"cannot load the WSDL {bad}: the WSDL is not usable" in str(r.error)


async def test_an_unknown_operation_lists_the_known_ones(read: Reader) -> None:
    r = await read({"operation": "GetPeeple"})
    assert r.error is not None
    assert str(r.error) == (
        "wsdl: the WSDL has no operation 'GetPeeple'; its operations: GetPeople, GetPeopleByOffset, GetPerson"
    )


async def test_an_unknown_service_or_port(read: Reader) -> None:
    r = await read(PAGED, source={"service": "Nope"})
    assert r.error is not None and "no service 'Nope'; it has: PeopleService" in str(r.error)
    r = await read(PAGED, source={"port": "Nope"})
    assert r.error is not None and "has no port 'Nope'; it has: Application" in str(r.error)


async def test_arguments_that_do_not_fit_the_operation(read: Reader) -> None:
    r = await read({"operation": "GetPeople", "arguments": {"pagenumber": 1}})
    assert r.error is not None
    assert str(r.error).startswith("page 1: GetPeople: the arguments do not fit the operation:")
    assert "pagenumber" in str(r.error)


# -- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/soap11", "/soap12"])
async def test_a_fault_mid_pagination_after_earlier_pages_were_yielded(
    read: Reader, soap: SoapService, path: str
) -> None:
    soap.state.fault_page = 3
    soap.state.total = 40
    r = await read(PAGED, path=path, source={"retries": 3})
    assert r.ids == list(range(1, 21))  # pages 1 and 2 were delivered first
    assert r.error is not None and r.error.where == "page 3"
    message = str(r.error)
    code = "soap11env:Server.Overloaded" if path == "/soap11" else "soap12env:Receiver (Overloaded)"
    assert message == f"page 3: GetPeople: SOAP fault {code}: the people database is overloaded (page 3)"
    assert [c["page"] for c in soap.calls()] == [1, 2, 3]  # a fault is not retried


async def test_an_html_page_instead_of_an_envelope(read: Reader, soap: SoapService, tmp_path: Path) -> None:
    wsdl = tmp_path / "people.wsdl"
    wsdl.write_bytes(soap.wsdl("/soap11"))
    r = await read(PAGED, path="/html", source={"wsdl": str(wsdl)})
    assert r.error is not None and r.error.where == "page 1"
    assert "expected a SOAP envelope but the server sent text/html (HTTP 200)" in str(r.error)
    assert "Log in" in str(r.error)


async def test_records_path_that_is_not_in_the_result(read: Reader) -> None:
    r = await read({**PAGED, "records": "people"})
    assert r.error is not None
    assert (
        str(r.error)
        == "page 1: GetPeople: records path 'people' is not in the response: the response has a list"
    )


# -- security -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("digest", [False, True])
async def test_ws_security_username_token(read: Reader, soap: SoapService, digest: bool) -> None:
    wss = {"username": soap.wsse.username, "password": soap.wsse.password, "digest": digest}
    r = await read(PAGED, path="/wsse", source={"ws_security": wss})
    assert r.error is None and len(r.ids) == 25
    assert soap.wsse.seen == ["digest" if digest else "text"] * 3
    if digest:  # the password itself never travels
        assert all(soap.wsse.password.encode() not in q.body for q in soap.server.requests_to("/wsse"))


async def test_ws_security_refused_is_a_fault_without_the_password(read: Reader, soap: SoapService) -> None:
    r = await read(
        PAGED, path="/wsse", source={"ws_security": {"username": "soap-user", "password": "wrong-pass"}}
    )
    assert r.error is not None
    assert str(r.error) == "page 1: GetPeople: SOAP fault soap:Client: authentication failed: bad password"
    r = await read(PAGED, path="/wsse")
    assert r.error is not None and "no UsernameToken" in str(r.error)


def _oauth(soap: SoapService) -> dict[str, Any]:
    c = soap.auth.creds
    return {
        "type": "oauth2",
        "token_url": soap.url("/oauth/token"),
        "client_id": c.client_id,
        "client_secret": c.client_secret,
    }


async def test_oauth2_token_expired_mid_run_is_refreshed_once(read: Reader, soap: SoapService) -> None:
    soap.state.total = 40
    original = soap.state.people

    def revoke_after_page_1(start: int, count: int, since: Any = None) -> Any:
        if start == count:  # page 2 is being served: its token is still good, the next one is not
            soap.auth.revoke_all()
        return original(start, count, since)

    soap.state.people = revoke_after_page_1  # type: ignore[method-assign]
    r = await read(PAGED, path="/oauth", source={"auth": _oauth(soap)})
    assert r.error is None and r.ids == list(range(1, 41))
    assert soap.auth.issued == 2


async def test_oauth2_token_refused_after_the_refresh_is_a_clear_failure(
    read: Reader, soap: SoapService
) -> None:
    soap.auth.reject_tokens = True
    r = await read(PAGED, path="/oauth", source={"auth": _oauth(soap)})
    assert r.error is not None and r.records == []
    message = str(r.error)
    assert "HTTP 401 (a freshly fetched oauth2 token was refused too)" in message
    assert soap.auth.issued == 2 and "access-" not in message


async def test_mtls_endpoint_with_and_without_a_client_certificate(mtls_soap: SoapService, pki: Pki) -> None:
    cfg = {"type": "soap", "location": mtls_soap.url("/soap11"), **FAST, "retries": 0}
    good = SoapSource.model_validate(
        {
            **cfg,
            "auth": {
                "type": "mtls",
                "cert": str(pki.client_cert),
                "key": str(pki.client_key),
                "ca": str(pki.ca_pem),
            },
        }
    )
    async with SoapConnector("mtls", good) as connector:
        records = [
            r
            async for b in connector.read(SoapRead.model_validate(PAGED), ReadContext("t"))
            for r in b.records
        ]
    assert len(records) == 25
    no_cert = SoapSource.model_validate({**cfg, "verify": str(pki.ca_pem)})
    async with SoapConnector("no-cert", no_cert) as connector:
        with pytest.raises(ConnectorError) as err:
            async for _ in connector.read(SoapRead.model_validate(PAGED), ReadContext("t")):
                pass
    # the WSDL came from the process cache; the call itself is refused (as an alert or a closed connection)
    assert err.value.where == "page 1"
    endpoint = re.escape(mtls_soap.url("/soap11"))
    assert re.match(
        rf"page 1: POST {endpoint}: .*(CERTIFICATE_REQUIRED|refused client certificate)", str(err.value)
    )


async def test_a_certificate_that_does_not_verify(mtls_soap: SoapService, pki: Pki) -> None:
    source = SoapSource.model_validate(
        {"type": "soap", "location": mtls_soap.url("/soap11"), **FAST, "verify": str(pki.other_ca_pem)}
    )
    async with SoapConnector("untrusted", source) as connector:
        with pytest.raises(ConnectorError) as err:
            async for _ in connector.read(SoapRead.model_validate(PAGED), ReadContext("t")):
                pass
    assert "TLS failed: certificate verify failed" in str(err.value)
    assert str(err.value).startswith("wsdl: cannot load the WSDL")
    assert len(mtls_soap.server.requests) == 0


async def test_secrets_never_reach_errors(read: Reader, soap: SoapService) -> None:
    r = await read(
        PAGED,
        path="/wsse",
        source={"ws_security": {"username": "soap-user", "password": "wrong-secret-pass"}, "retries": 0},
    )
    assert r.error is not None and "wrong-secret-pass" not in str(r.error)
    assert r.connector is not None and "wrong-secret-pass" not in repr(r.connector.source)


async def test_check_loads_the_wsdl(soap: SoapService) -> None:
    async with SoapConnector(
        "ok", SoapSource.model_validate({"type": "soap", "location": soap.url("/soap11")})
    ) as c:
        await c.check()
    bad = SoapSource.model_validate({"type": "soap", "location": soap.url("/nothing"), "retries": 0})
    async with SoapConnector("bad", bad) as c:
        with pytest.raises(ConnectorError, match="HTTP 404"):
            await c.check()


# -- config and the JSON rule -------------------------------------------------------------------------


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError, match="set `wsdl`"):
        SoapSource.model_validate({"type": "soap"})
    with pytest.raises(ValidationError, match="no argument uses"):
        SoapRead.model_validate({"operation": "GetPeople", "pagination": {"type": "page"}})
    with pytest.raises(
        ValidationError, match=r"unknown template variable pag \(available here: cursor, page\)"
    ):
        SoapRead.model_validate(
            {"operation": "X", "arguments": {"p": "{{ pag }}"}, "pagination": {"type": "page"}}
        )
    with pytest.raises(ValidationError, match="both called 'cursor'"):
        SoapRead.model_validate(
            {
                "operation": "X",
                "arguments": {"t": "{{ cursor }}"},
                "pagination": {"type": "cursor", "cursor_path": "n"},
                "incremental": {"cursor": "updated_at"},
            }
        )
    with pytest.raises(ValidationError, match="must be an http"):
        SoapSource.model_validate({"type": "soap", "location": "ftp://x"})
    assert (
        SoapSource.model_validate({"type": "soap", "location": "http://h/svc"}).wsdl_location
        == "http://h/svc?wsdl"
    )
    # a relative WSDL file is resolved against the config's folder when the loader passes it
    nearby = SoapSource.model_validate(
        {"type": "soap", "wsdl": "svc/people.wsdl"}, context={"base_dir": "/etc/oc"}
    )
    assert nearby.wsdl == "/etc/oc/svc/people.wsdl"


def test_zeep_values_become_json() -> None:
    element = etree.fromstring('<x:extra xmlns:x="urn:x" a="1"><x:v>2</x:v><x:v>3</x:v></x:extra>')
    value = {
        "n": Decimal("10.00"),
        "f": Decimal("0.25"),
        "when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        "day": dt.date(2024, 5, 1),
        "at": dt.time(8, 15),
        "took": dt.timedelta(hours=1, minutes=30),
        "blob": b"\x00\x01hi",
        "any": element,
        "list": [Decimal("1"), None, True],
        "qname": etree.QName("urn:x", "thing"),
    }
    assert to_json(value) == {
        "n": 10,
        "f": 0.25,
        "when": "2024-05-01T12:30:00+00:00",
        "day": "2024-05-01",
        "at": "08:15:00",
        "took": "PT1H30M",
        "blob": "AAFoaQ==",
        "any": {"extra": {"@a": "1", "v": ["2", "3"]}},
        "list": [1, None, True],
        "qname": "{urn:x}thing",
    }


ODD_REPLY = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:p="urn:openconnector:test:people"><soap:Body><p:GetPeopleResponse><p:GetPeopleResult>'
    '<p:Person kind="natural"><p:id>not a number</p:id><p:name>Anna</p:name></p:Person>'
    "</p:GetPeopleResult></p:GetPeopleResponse></soap:Body></soap:Envelope>"
)
UNREADABLE = (
    "the response does not match the WSDL: "
    "element id (line 1): invalid literal for int() with base 10: 'not a number'"
)


@pytest.mark.parametrize(
    ("reply", "strict", "expected"),
    [
        (ODD_REPLY, True, f"page 1: GetPeople: {UNREADABLE}"),
        (
            "<soap:Envelope",
            True,
            "page 1: GetPeople: the response is not a readable SOAP envelope (HTTP 200): <soap:Envelope",
        ),
        (ODD_REPLY, False, None),
    ],
)
async def test_replies_that_zeep_cannot_read(
    read: Reader, soap: SoapService, tmp_path: Path, reply: str, strict: bool, expected: str | None
) -> None:
    """zeep alone would read 'not a number' as null, silently; here it fails the page (or warns)."""
    wsdl = tmp_path / "people.wsdl"
    wsdl.write_bytes(soap.wsdl("/soap11"))
    soap.server.route("/odd", methods=("POST",))(lambda req: Response.text(reply, content_type="text/xml"))
    r = await read({"operation": "GetPeople"}, path="/odd", source={"wsdl": str(wsdl), "strict": strict})
    if expected is not None:
        assert r.error is not None and r.records == []
        assert str(r.error).startswith(expected), str(r.error)
    else:
        assert r.error is None and r.records == [
            {
                "kind": "natural",
                "id": None,
                "name": "Anna",
                "city": None,
                "score": None,
                "active": None,
                "born": None,
                "updated_at": None,
                "tags": [],
            }
        ]
        assert r.ctx.warnings == [f"page 1: GetPeople: {UNREADABLE} (read as null: strict is off)"]
