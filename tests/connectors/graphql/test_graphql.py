"""The graphql connector against a real strawberry API under uvicorn on 127.0.0.1."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from openconnector.connectors import get_connector
from openconnector.connectors.base import ConnectorError, ReadContext
from openconnector.connectors.graphql import GraphQLConnector, GraphQLRead, GraphQLSource
from tests.connectors.graphql.app import PeopleState, UvicornThread, asgi_app, tls_options
from tests.connectors.graphql.conftest import FAST, RELAY_QUERY, Api, Reader
from tests.connectors.http.apps import AuthApp
from tests.connectors.http.server import HttpTestServer, Response
from tests.connectors.http.tls import Pki

RELAY: dict[str, Any] = {
    "query": RELAY_QUERY,
    "pagination": {"type": "relay", "connection": "people", "size": 10},
}
OFFSET_QUERY = "query($offset: Int, $limit: Int) { peopleList(offset: $offset, limit: $limit) { id name } }"


def test_registered_under_graphql() -> None:
    assert get_connector("graphql") is GraphQLConnector


# -- reading ------------------------------------------------------------------------------------------


async def test_relay_pagination_delivers_every_node(read: Reader, api: Api) -> None:
    r = await read(RELAY)
    assert r.error is None and r.ctx.complete
    assert r.ids == [f"p-{i}" for i in range(1, 26)]
    assert r.records[0] == {
        "id": "p-1",
        "name": "Person 1",
        "updatedAt": "2024-01-01T01:00:00Z",
        "email": "person1@example.org",
        "address": {"city": "Delft", "postcode": "1001 AB"},
    }
    assert [b.where for b in r.batches] == ["page 1", "page 2", "page 3"]
    assert api.state.variables == [{"first": 10}, {"first": 10, "after": "c9"}, {"first": 10, "after": "c19"}]


async def test_relay_with_records_pointing_at_nodes_and_the_query_s_own_page_size(
    read: Reader, api: Api
) -> None:
    query = RELAY_QUERY.replace("edges { cursor node {", "nodes {").replace("postcode } } }", "postcode } }")
    pagination = {"type": "relay", "connection": "people"}
    r = await read({**RELAY, "query": query, "records": "people.nodes", "pagination": pagination})
    assert r.error is None and len(r.ids) == 25  # no `first` sent: the server's default of 10
    assert api.state.variables[0] == {}


async def test_offset_pagination_through_variables(read: Reader, api: Api) -> None:
    r = await read(
        {"query": OFFSET_QUERY, "records": "peopleList", "pagination": {"type": "offset", "limit": 10}}
    )
    assert r.error is None and len(r.ids) == 25
    assert api.state.variables == [{"offset": o, "limit": 10} for o in (0, 10, 20)]


async def test_variables_and_incremental_cursor(read: Reader, api: Api) -> None:
    cfg = {**RELAY, "variables": {"since": "{{ cursor }}"}, "incremental": {"cursor": "updatedAt"}}
    r = await read(cfg, cursor="2024-01-01T20:00:00Z")
    assert r.ids == ["p-20", "p-21", "p-22", "p-23"]
    assert api.state.variables[0] == {"since": "2024-01-01T20:00:00Z", "first": 10}
    api.state.variables.clear()
    r = await read(cfg, cursor="2024-01-01T20:00:00Z", full=True)
    assert len(r.ids) == 25 and api.state.variables[0] == {"since": None, "first": 10}
    api.state.variables.clear()
    by_param = {**RELAY, "incremental": {"cursor": "updatedAt", "param": "since"}}
    r = await read(by_param, cursor="2024-01-01T22:00:00Z")
    assert r.ids == ["p-22", "p-23"]


async def test_query_from_a_file(read: Reader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "people.graphql").write_text(RELAY_QUERY)
    r = await read({**RELAY, "query": "@people.graphql"}, context={"base_dir": tmp_path})
    assert r.error is None and len(r.ids) == 25
    monkeypatch.chdir(tmp_path)  # without a base_dir: relative to the working directory
    r = await read({**RELAY, "query": "@people.graphql"})
    assert r.error is None and len(r.ids) == 25
    with pytest.raises(
        ValidationError, match=r"query file not found: nope.graphql \(looked for .*nope.graphql\)"
    ):
        GraphQLRead.model_validate({**RELAY, "query": "@nope.graphql"})


async def test_max_pages_makes_the_read_incomplete(read: Reader, api: Api) -> None:
    r = await read({**RELAY, "max_pages": 2})
    assert r.error is None and len(r.ids) == 20
    assert not r.ctx.complete and "max_pages (2) reached" in (r.ctx.reason or "")
    assert len(api.state.variables) == 2


async def test_batches_are_split_by_batch_size(read: Reader) -> None:
    r = await read({**RELAY, "batch_size": 4})
    assert [len(b.records) for b in r.batches] == [4, 4, 2, 4, 4, 2, 4, 1]


# -- the errors array ---------------------------------------------------------------------------------


async def test_a_query_with_a_syntax_error_shows_the_server_s_message(read: Reader, api: Api) -> None:
    r = await read({**RELAY, "query": "query { people(first: 2) { edges { node { id "})
    assert r.error is not None and r.records == [] and r.error.where == "page 1"
    assert str(r.error) == (
        f"page 1: POST {api.url}: the server answered with GraphQL errors: "
        "Syntax Error: Expected Name, found <EOF>. (line 1, column 46)"
    )


async def test_a_field_that_does_not_exist(read: Reader) -> None:
    r = await read({**RELAY, "query": RELAY_QUERY.replace("updatedAt", "updated")})
    assert r.error is not None
    assert "Cannot query field 'updated' on type 'Person'. Did you mean 'updatedAt'? (line 4" in str(r.error)


async def test_http_200_with_errors_and_no_data_fails_the_page_after_earlier_pages(
    read: Reader, api: Api
) -> None:
    api.state.fail_page = 2
    r = await read(RELAY)
    assert r.ids == [f"p-{i}" for i in range(1, 11)]  # page 1 was delivered first
    assert r.error is not None and r.error.where == "page 2"
    assert str(r.error) == (
        f"page 2: POST {api.url}: the server answered with GraphQL errors: "
        "the people index is being rebuilt (line 3, column 3) at people"
    )
    assert len(api.state.variables) == 2  # a GraphQL error is an answer, not retried


async def test_errors_that_null_the_connection_fail_the_page(read: Reader, api: Api) -> None:
    api.state.fail_page = 2
    query = """query($first: Int, $after: String) {
      nullablePeople(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
    }"""
    pagination = {"type": "relay", "connection": "nullablePeople", "size": 10}
    r = await read({"query": query, "records": "nullablePeople.nodes", "pagination": pagination})
    assert len(r.ids) == 10 and r.error is not None and r.error.where == "page 2"
    assert str(r.error).endswith(
        "GraphQL errors: the people index is being rebuilt (line 2, column 7) at nullablePeople"
    )


async def test_errors_with_partial_data_deliver_the_records_and_make_the_read_partial(
    read: Reader, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.state.hidden_emails = {3, 14}
    with caplog.at_level(logging.WARNING):
        r = await read(RELAY)
    assert r.error is None and len(r.ids) == 25  # nothing is held back
    assert r.records[2]["email"] is None and r.records[13]["email"] is None
    assert not r.ctx.complete
    assert r.ctx.reason == (
        "page 2: 1 GraphQL error(s) with partial data: email of p-14 is not visible to this client "
        "(line 4, column 45) at people.edges.3.node.email"
    )
    logged = [m for m in caplog.messages if m.startswith("GraphQL error")]
    assert logged == [
        "GraphQL error: page 1: record 2 (id 'p-3'): email of p-3 is not visible to this client "
        "(line 4, column 45) at people.edges.2.node.email",
        "GraphQL error: page 2: record 3 (id 'p-14'): email of p-14 is not visible to this client "
        "(line 4, column 45) at people.edges.3.node.email",
    ]
    assert [w for w in r.ctx.warnings if w.startswith("GraphQL error")] == logged


async def test_relay_query_without_page_info_is_an_error_not_a_one_page_read(read: Reader) -> None:
    query = RELAY_QUERY.replace("pageInfo { hasNextPage endCursor }", "")
    r = await read({**RELAY, "query": query})
    assert r.error is not None and len(r.ids) == 10
    assert str(r.error) == (
        "page 1: relay pagination: people.pageInfo.hasNextPage is not in the response; "
        "select pageInfo { hasNextPage endCursor } on people in the query"
    )


async def test_an_empty_page_that_says_there_is_more_stops_the_read_as_incomplete(
    read: Reader, api: Api
) -> None:
    api.state.empty_page = 2
    r = await read(RELAY)
    assert r.error is None and len(r.ids) == 10
    assert not r.ctx.complete
    assert r.ctx.reason == "page 2 is empty but hasNextPage is true; stopped reading there"


async def test_a_repeated_end_cursor_is_a_loop_not_the_end(read: Reader, api: Api) -> None:
    api.state.repeat_cursor_page = 2
    r = await read(RELAY)
    assert len(r.ids) == 20  # pages 1 and 2 are kept
    assert str(r.error) == "page 2: pagination loop: the server returned endCursor 'c9' again"


async def test_a_response_that_is_not_graphql(
    read: Reader, token_server: tuple[HttpTestServer, AuthApp]
) -> None:
    server, _ = token_server
    server.route("/hello", methods=("POST",))(lambda req: Response.json({"hello": "world"}))
    r = await read(RELAY, source={"location": server.base_url + "/hello"})
    assert str(r.error) == (
        f"page 1: POST {server.base_url}/hello: "
        "not a GraphQL response (expected an object with data or errors)"
    )
    r = await read(RELAY, source={"location": server.base_url + "/nothing", "retries": 0})
    assert r.error is not None and r.records == []
    assert str(r.error) == (
        f'page 1: POST {server.base_url}/nothing: HTTP 404: {{"error":"no route POST /nothing"}}'
    )


# -- auth and TLS -------------------------------------------------------------------------------------


def _oauth(server: HttpTestServer, auth: AuthApp) -> dict[str, Any]:
    c = auth.creds
    return {
        "type": "oauth2",
        "token_url": server.base_url + "/oauth/token",
        "client_id": c.client_id,
        "client_secret": c.client_secret,
    }


async def test_oauth2_token_expired_mid_run_is_refreshed_once(
    read: Reader, api: Api, token_server: tuple[HttpTestServer, AuthApp]
) -> None:
    server, auth = token_server
    api.state.auth = auth
    api.state.revoke_after = 1  # the token dies after page 1
    r = await read(RELAY, source={"auth": _oauth(server, auth)})
    assert r.error is None and len(r.ids) == 25
    assert auth.issued == 2


async def test_oauth2_token_refused_after_the_refresh_is_a_clear_failure(
    read: Reader, api: Api, token_server: tuple[HttpTestServer, AuthApp]
) -> None:
    server, auth = token_server
    api.state.auth = auth
    auth.reject_tokens = True
    r = await read(RELAY, source={"auth": _oauth(server, auth)})
    assert r.error is not None and r.error.where == "page 1"
    message = str(r.error)
    assert f"POST {api.url}: HTTP 401 (a freshly fetched oauth2 token was refused too)" in message
    assert "access-" not in message and auth.creds.client_secret not in message
    assert auth.issued == 2  # the first token and exactly one refresh


async def test_a_credential_echoed_in_errors_is_masked(read: Reader) -> None:
    token = "gql-bearer-secret-0123"
    r = await read(
        {"query": "{ whoami }", "records": "whoami"}, source={"auth": {"type": "bearer", "token": token}}
    )
    assert r.error is not None
    assert str(r.error).endswith("GraphQL errors: Bearer *** may not ask this (line 1, column 3) at whoami")
    assert token not in str(r.error)


async def test_mtls_endpoint(mtls_api: Api, pki: Pki) -> None:
    auth = {"type": "mtls", "cert": str(pki.client_cert), "key": str(pki.client_key), "ca": str(pki.ca_pem)}
    source = GraphQLSource.model_validate({"type": "graphql", "location": mtls_api.url, **FAST, "auth": auth})
    async with GraphQLConnector("mtls", source) as connector:
        records = [
            r
            async for b in connector.read(GraphQLRead.model_validate(RELAY), ReadContext("t"))
            for r in b.records
        ]
    assert len(records) == 25
    no_cert = GraphQLSource.model_validate(
        {"type": "graphql", "location": mtls_api.url, **FAST, "verify": str(pki.ca_pem), "retries": 0}
    )
    async with GraphQLConnector("no-cert", no_cert) as connector:
        with pytest.raises(ConnectorError) as err:
            async for _ in connector.read(GraphQLRead.model_validate(RELAY), ReadContext("t")):
                pass
    assert err.value.where == "page 1"
    endpoint = re.escape(mtls_api.url)
    assert re.match(
        rf"page 1: POST {endpoint}: .*(CERTIFICATE_REQUIRED|refused client certificate)", str(err.value)
    )


async def test_a_certificate_that_does_not_verify(pki: Pki, server_pem: str) -> None:
    state = PeopleState()
    with UvicornThread(asgi_app(state), **tls_options(server_pem)) as server:
        source = GraphQLSource.model_validate(
            {
                "type": "graphql",
                "location": server.base_url + "/graphql",
                **FAST,
                "verify": str(pki.other_ca_pem),
            }
        )
        async with GraphQLConnector("untrusted", source) as connector:
            with pytest.raises(ConnectorError) as err:
                async for _ in connector.read(GraphQLRead.model_validate(RELAY), ReadContext("t")):
                    pass
    assert str(err.value).startswith(
        f"page 1: POST {server.base_url}/graphql: TLS failed: certificate verify failed"
    )
    assert state.variables == []  # nothing reached the server


async def test_check(api: Api, token_server: tuple[HttpTestServer, AuthApp]) -> None:
    async with GraphQLConnector("ok", GraphQLSource(location=api.url)) as connector:
        await connector.check()
    bad = GraphQLSource(location=token_server[0].base_url + "/nothing", retries=0)
    async with GraphQLConnector("bad", bad) as connector:
        with pytest.raises(ConnectorError, match="HTTP 404"):
            await connector.check()


# -- config -------------------------------------------------------------------------------------------


def test_read_config_is_validated() -> None:
    with pytest.raises(ValidationError, match="set records"):
        GraphQLRead.model_validate({"query": "{ people { id } }"})
    with pytest.raises(
        ValidationError, match=r"unknown template variable since \(available here: after, cursor"
    ):
        GraphQLRead.model_validate({**RELAY, "variables": {"s": "{{ since }}"}})
    with pytest.raises(ValidationError, match="query is empty"):
        GraphQLRead.model_validate({"query": "  ", "records": "x"})
    with pytest.raises(ValidationError, match="location"):
        GraphQLSource.model_validate({"type": "graphql"})
    read = GraphQLRead.model_validate(RELAY)
    assert read.records_path == "people.edges"
