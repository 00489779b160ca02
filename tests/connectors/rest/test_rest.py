"""The REST connector against a real HTTP server: pagination, bodies, failures, incremental, auth."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import ValidationError

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.rest import RestConnector, RestRead, RestSource
from openconnector.connectors.rest.connector import cursor_with_lookback
from tests.connectors.http.apps import Credentials
from tests.connectors.rest.app import PEOPLE, RestApi
from tests.connectors.rest.conftest import FAST, Reader

ALL_IDS = [p["id"] for p in PEOPLE]  # 25 people
C = Credentials()


def test_registered_under_rest() -> None:
    assert get_connector("rest") is RestConnector
    assert RestConnector.Source is RestSource and RestConnector.Read is RestRead


# -- pagination ---------------------------------------------------------------------------------------


async def test_page_pagination_stops_on_a_short_page_after_a_full_one(read: Reader, api: RestApi) -> None:
    result = await read(
        {
            "path": "/people",
            "records": "data",
            "pagination": {"type": "page", "size_param": "per_page", "size": 10},
        }
    )
    assert result.error is None and result.ctx.complete
    assert result.ids == ALL_IDS
    assert [b.where for b in result.batches] == ["page 1", "page 2", "page 3"]
    assert [r.query["page"] for r in api.server.requests_to("/people")] == [["1"], ["2"], ["3"]]
    assert all(r.query["per_page"] == ["10"] for r in api.server.requests_to("/people"))


async def test_page_size_taken_from_the_query(read: Reader, api: RestApi) -> None:
    result = await read(
        {
            "path": "/people",
            "query": {"per_page": 10},
            "records": "data",
            "pagination": {"type": "page", "size_param": "per_page"},
        }
    )
    assert result.ids == ALL_IDS and api.server.hits["/people"] == 3


async def test_page_pagination_without_a_size_stops_on_an_empty_page(read: Reader, api: RestApi) -> None:
    result = await read({"path": "/people", "records": "data", "pagination": {"type": "page", "start": 1}})
    assert result.ids == ALL_IDS and result.ctx.complete
    assert api.server.hits["/people"] == 4  # 10 + 10 + 5 + the empty page


async def test_a_server_capping_the_page_size_is_not_mistaken_for_the_end(read: Reader, api: RestApi) -> None:
    """Asked for 10, the server gives 4 per page: every page is 'short', none is the last."""
    result = await read(
        {
            "path": "/people",
            "query": {"cap": 4},
            "records": "data",
            "pagination": {"type": "page", "size_param": "per_page", "size": 10},
        }
    )
    assert result.ids == ALL_IDS and result.ctx.complete


async def test_page_pagination_zero_based(read: Reader, api: RestApi) -> None:
    api.server.route("/zero")(lambda req: api.page(_shift(req)))
    result = await read(
        {
            "path": "/zero",
            "records": "data",
            "pagination": {"type": "page", "start": 0, "size_param": "per_page", "size": 10},
        }
    )
    assert result.ids == ALL_IDS
    assert [r.query["page"] for r in api.server.requests_to("/zero")] == [["0"], ["1"], ["2"]]


def _shift(req: Any) -> Any:
    from dataclasses import replace

    return replace(req, query={**req.query, "page": [str(int(req.arg("page")) + 1)]})


async def test_offset_pagination(read: Reader, api: RestApi) -> None:
    result = await read(
        {"path": "/offset", "records": "items", "pagination": {"type": "offset", "limit": 10}}
    )
    assert result.ids == ALL_IDS and result.ctx.complete
    sent = [(r.query["offset"], r.query["limit"]) for r in api.server.requests_to("/offset")]
    assert sent == [(["0"], ["10"]), (["10"], ["10"]), (["20"], ["10"])]


async def test_offset_advances_by_what_was_received_when_the_server_caps_the_limit(
    read: Reader, api: RestApi
) -> None:
    result = await read(
        {
            "path": "/offset",
            "query": {"cap": 7},
            "records": "items",
            "pagination": {"type": "offset", "param": "offset", "limit_param": "limit", "limit": 10},
        }
    )
    assert result.ids == ALL_IDS
    assert [r.query["offset"][0] for r in api.server.requests_to("/offset")] == ["0", "7", "14", "21", "25"]


async def test_cursor_pagination(read: Reader, api: RestApi) -> None:
    result = await read(
        {
            "path": "/cursor",
            "records": "results",
            "pagination": {"type": "cursor", "cursor_path": "paging.next"},
        }
    )
    assert result.ids == ALL_IDS and result.ctx.complete
    assert [r.arg("cursor") for r in api.server.requests_to("/cursor")] == [None, "c10", "c20"]


async def test_cursor_loop_is_an_error_not_the_end(read: Reader) -> None:
    result = await read(
        {
            "path": "/cursor",
            "query": {"loop": 1},
            "records": "results",
            "pagination": {"type": "cursor", "param": "cursor", "cursor_path": "paging.next"},
        }
    )
    assert isinstance(result.error, ConnectorError)
    assert "pagination loop: the server returned cursor 'c10' again" in str(result.error)
    assert result.error.where == "page 3"
    assert len(result.batches) == 3  # the pages read were all yielded before the error


async def test_cursor_path_missing_on_page_one_warns(read: Reader) -> None:
    result = await read(
        {"path": "/cursor", "query": {"omit": 1}, "records": "results",
         "pagination": {"type": "cursor", "cursor_path": "paging.next"}}
    )  # fmt: skip
    assert result.ids == ALL_IDS[:10]
    assert any("cursor path 'paging.next' is not in the response of page 1" in w for w in result.ctx.warnings)


async def test_next_link_in_the_body_relative(read: Reader, api: RestApi) -> None:
    result = await read(
        {
            "path": "/next-body",
            "records": "data",
            "pagination": {"type": "next_link", "next_path": "links.next"},
        }
    )
    assert result.ids == ALL_IDS and result.ctx.complete
    assert [r.arg("page") for r in api.server.requests_to("/next-body")] == [None, "2", "3"]


async def test_next_link_in_the_link_header(read: Reader, api: RestApi) -> None:
    result = await read(
        {"path": "/next-header", "query": {"per_page": 10}, "pagination": {"type": "next_link"}}
    )
    assert result.ids == ALL_IDS and result.ctx.complete
    assert api.server.hits["/next-header"] == 3


async def test_next_link_to_another_host_gets_no_credentials(read: Reader) -> None:
    source = {"auth": {"type": "bearer", "token": C.token}}
    result = await read(
        {"path": "/next-header", "query": {"other_host": 1}, "pagination": {"type": "next_link"}},
        source=source,
    )
    assert isinstance(result.error, ConnectorError) and result.error.where == "page 1"
    assert "the next page is on another host (http://localhost:" in str(result.error)
    assert result.ids == ALL_IDS[:10]


async def test_no_pagination_root_list_and_single_object(read: Reader) -> None:
    assert (await read({"path": "/list"})).ids == ALL_IDS
    one = await read({"path": "/one"})
    assert one.records == [PEOPLE[0]] and one.ctx.complete


async def test_batches_are_split_by_batch_size(read: Reader) -> None:
    result = await read({"path": "/list", "batch_size": 10})
    assert [len(b.records) for b in result.batches] == [10, 10, 5]
    assert {b.where for b in result.batches} == {"page 1"}


# -- max_pages and failures mid-read ---------------------------------------------------------------------


async def test_max_pages_makes_the_read_incomplete(read: Reader, api: RestApi) -> None:
    result = await read(
        {"path": "/people", "records": "data", "max_pages": 2,
         "pagination": {"type": "page", "size_param": "per_page", "size": 10}}
    )  # fmt: skip
    assert result.error is None
    assert result.ids == ALL_IDS[:20]
    assert result.ctx.complete is False and result.ctx.reason == "max_pages (2) reached; more pages exist"
    assert api.server.hits["/people"] == 2  # no third request was even started


async def test_max_pages_on_the_last_page_is_complete(read: Reader) -> None:
    result = await read(
        {"path": "/people", "records": "data", "max_pages": 3,
         "pagination": {"type": "page", "size_param": "per_page", "size": 10}}
    )  # fmt: skip
    assert result.ids == ALL_IDS and result.ctx.complete


async def test_500_on_page_3_after_pages_1_and_2_were_yielded(read: Reader, api: RestApi) -> None:
    result = await read(
        {
            "path": "/people",
            "query": {"fail_page": 3},
            "records": "data",
            "pagination": {"type": "page", "size_param": "per_page", "size": 10},
        },
        source={"retries": 3},
    )
    assert [b.where for b in result.batches] == ["page 1", "page 2"]
    assert result.ids == ALL_IDS[:20]
    err = result.error
    assert isinstance(err, ConnectorError) and err.where == "page 3"
    assert str(err) == (
        "page 3: GET /people?fail_page=3&per_page=10&page=3: HTTP 500 after 4 attempts: boom: page 3 failed"
    )
    assert api.server.hits["/people"] == 2 + 4


async def test_429_storm_gives_up_with_a_clear_error(read: Reader, api: RestApi) -> None:
    result = await read({"path": "/storm", "records": "data"}, source={"retries": 5})
    assert result.batches == []
    assert isinstance(result.error, ConnectorError)
    assert str(result.error) == 'page 1: GET /storm: HTTP 429 after 6 attempts: {"error":"slow down"}'
    assert api.server.hits["/storm"] == 6


async def test_transient_failures_are_retried_transparently(read: Reader, api: RestApi) -> None:
    result = await read({"path": "/flaky", "query": {"slot": "r1", "fails": 2}, "records": "data"})
    assert result.error is None and result.ids == [1, 2, 3]
    assert api.server.hits["/flaky"] == 3
    assert result.connector is not None and len(result.connector.transport.calls) == 2


# -- bodies -------------------------------------------------------------------------------------------------


async def test_records_path_missing_names_the_path_and_page(read: Reader) -> None:
    result = await read({"path": "/people", "records": "data.items", "pagination": {"type": "page"}})
    assert isinstance(result.error, ConnectorError) and result.batches == []
    assert result.error.where == "page 1"
    assert "records path 'data.items' is not in the response: 'data' has a list" in str(result.error)
    other = await read({"path": "/people", "records": "rows"})
    assert "records path 'rows' is not in the response: the response has keys: data, meta" in str(other.error)


async def test_paginated_object_without_records_path_is_an_error(read: Reader) -> None:
    result = await read({"path": "/people", "pagination": {"type": "page"}})
    assert isinstance(result.error, ConnectorError)
    assert "set read.records to the path of the record list (the response has keys: data, meta)" in str(
        result.error
    )


async def test_html_instead_of_json(read: Reader) -> None:
    result = await read({"path": "/html", "records": "data"})
    assert isinstance(result.error, ConnectorError) and result.error.where == "page 1"
    message = str(result.error)
    assert "GET /html: expected JSON or XML but the server sent an HTML page" in message
    assert "content-type text/html" in message and "Please log in" in message
    forced = await read({"path": "/html", "records": "data", "format": "json"})
    assert "is not valid JSON" in str(forced.error) and "<!DOCTYPE html>" in str(forced.error)


async def test_truncated_json(read: Reader) -> None:
    result = await read({"path": "/truncated", "records": "data"})
    assert isinstance(result.error, ConnectorError) and result.error.where == "page 1"
    assert "GET /truncated: the response is truncated JSON" in str(result.error)
    assert '{"data": [{"id": 1, "name": "Per' in str(result.error)


async def test_nan_in_a_page_is_read_not_a_failed_page(read: Reader) -> None:
    result = await read({"path": "/nan", "records": "data"})
    assert result.error is None and [r["id"] for r in result.records] == [1, 2]
    assert result.records[0]["score"] != result.records[0]["score"]  # NaN


async def test_json_in_a_declared_charset_is_decoded_with_it(read: Reader) -> None:
    result = await read({"path": "/latin1", "records": "data"})
    assert result.error is None and result.records == [{"id": 1, "name": "José Müller"}]


async def test_a_byte_order_mark_before_json_or_xml_is_skipped(read: Reader) -> None:
    result = await read({"path": "/bom-json", "records": "data"})
    assert result.error is None and result.records == [{"id": 1, "name": "José"}]
    result = await read({"path": "/bom-xml", "records": "people.person"})
    assert result.error is None and [r["id"] for r in result.records] == ["1"]


async def test_a_body_that_does_not_decompress_fails_the_page_and_says_why(read: Reader) -> None:
    result = await read({"path": "/bad-gzip", "records": "data"})
    assert isinstance(result.error, ConnectorError) and result.error.where == "page 1", result.error
    assert "GET /bad-gzip: the response body does not decode as its Content-Encoding header says" in str(
        result.error
    )


async def test_a_redirect_loop_fails_the_page_and_says_why(read: Reader) -> None:
    result = await read({"path": "/loop", "records": "data"})
    assert isinstance(result.error, ConnectorError) and result.error.where == "page 1", result.error
    assert "GET /loop" in str(result.error) and "redirect" in str(result.error).lower()


async def test_items_that_are_not_objects_become_record_errors(read: Reader) -> None:
    result = await read({"path": "/mixed", "records": "data"})
    (batch,) = result.batches
    assert batch.records == [{"id": 1}, {"id": 2}]
    assert [(e.raw, e.where) for e in batch.errors] == [
        ("not a record", "page 1 item 1"),
        (3, "page 1 item 2"),
    ]
    assert batch.errors[0].error == "the record is a string, not an object"


async def test_xml_pages(read: Reader) -> None:
    result = await read(
        {
            "path": "/xml",
            "records": "people.person",
            "pagination": {"type": "page", "size_param": "per_page", "size": 10},
        }
    )
    assert result.error is None and len(result.records) == 25
    first, second = result.records[:2]
    assert first == {
        "@id": "1",
        "name": "Person 1",
        "city": {"@code": "DE", "#text": "Delft"},
        "tag": ["a", "b"],
        "note": None,
    }
    assert second["tag"] == "a"  # once: a string, by the documented rule …
    forced = await read(
        {"path": "/xml", "records": "people.person", "xml_lists": ["tag"], "query": {"per_page": 1}}
    )
    # … unless listed in xml_lists; and a page with one <person> is still one record
    assert forced.records[0]["tag"] == ["a", "b"] and len(forced.records) == 1


async def test_post_with_a_body(read: Reader, api: RestApi) -> None:
    result = await read({"path": "/search", "method": "POST", "body": {"city": "Assen"}, "records": "data"})
    assert result.ids == [p["id"] for p in PEOPLE if p["city"] == "Assen"]
    assert api.server.requests_to("/search")[0].headers["content-type"] == "application/json"


async def test_headers_and_query_are_sent(read: Reader, api: RestApi) -> None:
    await read(
        {
            "path": "/echo",
            "records": "data",
            "headers": {"X-Request": "r1"},
            "query": {"tags": ["a", "b"], "on": True},
        },
        source={"headers": {"X-Source": "s1"}},
    )
    (req,) = api.server.requests_to("/echo")
    assert req.headers["x-request"] == "r1" and req.headers["x-source"] == "s1"
    assert req.query == {"tags": ["a", "b"], "on": ["true"]}


# -- incremental --------------------------------------------------------------------------------------


INCREMENTAL = {
    "path": "/people",
    "records": "data",
    "pagination": {"type": "page", "size_param": "per_page", "size": 10},
    "incremental": {"cursor": "updated_at", "param": "updated_since"},
}


async def test_incremental_cursor_is_sent_on_every_page(read: Reader, api: RestApi) -> None:
    result = await read(INCREMENTAL, cursor="2024-01-12T00:00:00Z")
    assert result.ids == list(range(12, 26))
    assert [r.arg("updated_since") for r in api.server.requests_to("/people")] == ["2024-01-12T00:00:00Z"] * 2


async def test_incremental_not_sent_on_a_full_read_or_without_a_cursor(read: Reader, api: RestApi) -> None:
    assert (await read(INCREMENTAL, cursor="2024-01-12T00:00:00Z", full=True)).ids == ALL_IDS
    assert (await read(INCREMENTAL, cursor=None)).ids == ALL_IDS
    assert all(r.arg("updated_since") is None for r in api.server.requests_to("/people"))


async def test_incremental_param_defaults_to_the_cursor_name_and_applies_lookback(
    read: Reader, api: RestApi
) -> None:
    cfg = {"path": "/echo", "records": "data", "incremental": {"cursor": "version", "lookback": 5}}
    await read(cfg, cursor=100)
    assert api.server.requests_to("/echo")[0].query["version"] == ["95"]


def test_cursor_with_lookback() -> None:
    assert cursor_with_lookback("2024-01-12T00:00:00Z", 3600) == "2024-01-11T23:00:00Z"
    assert cursor_with_lookback("2024-01-12T00:00:00+01:00", 60) == "2024-01-11T23:59:00+01:00"
    assert cursor_with_lookback(10.5, 0.5) == 10.0
    assert cursor_with_lookback("not a date", 60) == "not a date"
    assert cursor_with_lookback("x", None) == "x"


# -- prefetch, rate limit -----------------------------------------------------------------------------


async def test_next_page_is_fetched_while_the_current_one_is_processed(api: RestApi) -> None:
    src = RestSource(location=api.server.base_url, **FAST)
    cfg = RestRead(
        path="/people", records="data", pagination={"type": "page", "size_param": "per_page", "size": 5}
    )
    seen_while_processing: list[int] = []
    async with RestConnector("s", src) as connector:
        async for _batch in connector.read(cfg, ReadContext(pipeline="p")):
            await asyncio.sleep(0.1)  # the engine working on this page
            seen_while_processing.append(api.server.hits["/people"])
    # while page N was processed, page N+1 (and never N+2) had been requested
    assert seen_while_processing == [2, 3, 4, 5, 6]


async def test_stopping_early_fetches_no_further_pages(api: RestApi) -> None:
    src = RestSource(location=api.server.base_url, **FAST)
    cfg = RestRead(
        path="/people", records="data", pagination={"type": "page", "size_param": "per_page", "size": 5}
    )
    async with RestConnector("s", src) as connector:
        gen = connector.read(cfg, ReadContext(pipeline="p"))
        first = await gen.__anext__()
        await gen.aclose()  # the engine gave up after one batch
        await asyncio.sleep(0.1)
    assert len(first.records) == 5
    assert api.server.hits["/people"] <= 2  # at most the one prefetched page


async def test_rate_limit_applies_to_pages(read: Reader) -> None:
    started = time.monotonic()
    result = await read(
        {
            "path": "/people",
            "records": "data",
            "pagination": {"type": "page", "size_param": "per_page", "size": 5},
        },
        source={"rate_limit": 25},
    )
    assert result.ids == ALL_IDS
    assert time.monotonic() - started >= 4 / 25 * 0.9  # 6 requests, 5 gaps at 25/s


# -- auth through the connector ---------------------------------------------------------------------------

AUTHS: dict[str, dict[str, Any]] = {
    "none": {"type": "none"},
    "basic": {"type": "basic", "username": C.username, "password": C.password},
    "bearer": {"type": "bearer", "token": C.token},
    "api_key_header": {"type": "api_key", "name": C.api_key_header, "value": C.api_key},
    "api_key_query": {"type": "api_key", "name": C.api_key_query, "value": C.api_key, "in": "query"},
    "oauth2": {"type": "oauth2", "token_url": "{base}/oauth/token", "client_id": C.client_id,
               "client_secret": C.client_secret},
}  # fmt: skip


@pytest.mark.parametrize("kind", list(AUTHS))
async def test_every_auth_kind_reads_every_page(kind: str, read: Reader, api: RestApi) -> None:
    auth = {
        k: v.format(base=api.server.base_url) if isinstance(v, str) else v for k, v in AUTHS[kind].items()
    }
    cfg = {
        "path": f"/auth/{kind}",
        "records": "data",
        "pagination": {"type": "page", "size_param": "per_page", "size": 10},
    }
    result = await read(cfg, source={"auth": auth})
    assert result.error is None and result.ids == ALL_IDS
    if kind != "none":
        refused = await read(cfg)
        assert isinstance(refused.error, ConnectorError) and f"GET /auth/{kind}" in str(refused.error)
        assert "HTTP 401" in str(refused.error)


async def test_secrets_never_reach_errors(read: Reader, api: RestApi) -> None:
    api.auth.creds.api_key = "a-different-key"
    result = await read(
        {"path": "/auth/api_key_query", "records": "data"},
        source={"auth": {"type": "api_key", "name": "api_key", "value": "my-secret-key-42", "in": "query"}},
    )
    assert isinstance(result.error, ConnectorError)
    assert "my-secret-key-42" not in str(result.error) and '"received":"***"' in str(result.error)
    assert result.connector is not None
    (call,) = result.connector.transport.calls
    assert "my-secret-key-42" not in str(call) and call.url.endswith("/auth/api_key_query?api_key=***")


async def test_check(api: RestApi) -> None:
    async with RestConnector("s", RestSource(location=api.server.base_url + "/list", **FAST)) as ok:
        await ok.check()
    src = RestSource(location=api.server.base_url + "/auth/bearer", **FAST)
    async with RestConnector("s", src) as refused:
        with pytest.raises(ConnectorError, match="HTTP 401"):
            await refused.check()


# -- config -------------------------------------------------------------------------------------------


def test_read_config_is_validated() -> None:
    with pytest.raises(
        ValidationError,
        match="does not match any of the expected tags: 'page', 'offset', 'cursor', 'next_link'",
    ):
        RestRead.model_validate({"path": "/x", "pagination": {"type": "pages"}})
    with pytest.raises(ValidationError, match="body is only sent with method: POST"):
        RestRead.model_validate({"path": "/x", "body": {"a": 1}})
    with pytest.raises(ValidationError, match="cursor_path"):
        RestRead.model_validate({"pagination": {"type": "cursor"}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RestRead.model_validate({"path": "/x", "pagniation": {"type": "page"}})
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        RestRead.model_validate({"max_pages": 0})
    ok = RestRead.model_validate({"pagination": {"type": "page", "param": "p"}, "records": "data"})
    assert ok.pagination is not None and ok.pagination.type == "page"
