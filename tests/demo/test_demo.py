"""The demo REST source: shape, pagination, revisions, incremental filter, and reading it for real."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from collections.abc import Iterator

import httpx
import orjson
import pytest

from openconnector.connectors.base import ReadContext
from openconnector.connectors.rest import RestConnector, RestRead, RestSource
from openconnector.demo import DemoServer, People


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer(records=2_500) as server:
        yield server


def test_people_page_shape_and_defaults(demo: DemoServer) -> None:
    body = httpx.get(f"{demo.base_url}/people").json()
    assert body["meta"] == {"page": 1, "per_page": 100, "total": 2_500}
    assert [p["id"] for p in body["data"]] == list(range(1, 101))
    person = body["data"][0]
    assert set(person) == {
        "id", "first_name", "last_name", "email", "birth_date", "address", "tags", "active", "updated_at"
    }  # fmt: skip
    assert set(person["address"]) == {"street", "city", "postcode"}
    assert isinstance(person["tags"], list) and isinstance(person["active"], bool)
    assert person["updated_at"].endswith("Z")


def test_per_page_is_capped_and_pages_end_empty(demo: DemoServer) -> None:
    big = httpx.get(f"{demo.base_url}/people", params={"per_page": 5000}).json()
    assert big["meta"]["per_page"] == 1000 and len(big["data"]) == 1000
    last = httpx.get(f"{demo.base_url}/people", params={"per_page": 1000, "page": 3}).json()
    assert [p["id"] for p in last["data"]][-1] == 2_500 and len(last["data"]) == 500
    assert httpx.get(f"{demo.base_url}/people", params={"page": 99}).json()["data"] == []


def test_bad_parameters_and_unknown_routes(demo: DemoServer) -> None:
    bad = httpx.get(f"{demo.base_url}/people", params={"per_page": "many"})
    assert bad.status_code == 400 and "per_page must be an integer" in bad.json()["error"]
    assert httpx.get(f"{demo.base_url}/people", params={"page": 0}).status_code == 400
    assert httpx.get(f"{demo.base_url}/people", params={"updated_since": "yesterday"}).status_code == 400
    assert httpx.get(f"{demo.base_url}/nothing").status_code == 404
    assert httpx.get(f"{demo.base_url}/people/7").json()["id"] == 7
    assert httpx.get(f"{demo.base_url}/people/2501").status_code == 404


def test_records_are_deterministic_and_about_230_bytes() -> None:
    a, b = People(5_000), People(5_000)
    assert a.page(3, 1000).body == b.page(3, 1000).body
    sizes = [len(a.record_bytes(i)) for i in range(5_000)]
    assert 200 <= sum(sizes) / len(sizes) <= 280
    emails = {orjson.loads(a.record_bytes(i))["email"] for i in range(5_000)}
    assert len(emails) == 5_000


def test_cached_record_bytes_cost_their_size_not_a_buffer() -> None:
    # orjson reserves 4 KB per result; kept per record that made a 200,000-record source hold 800 MB.
    people = People(2_000)
    tracemalloc.start()
    try:
        for i in range(2_000):
            people.record_bytes(i)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 2_000 * 600, f"{held / 2_000:.0f} bytes per cached ~250-byte record"


def test_each_revision_changes_ten_percent(demo: DemoServer) -> None:
    def everyone() -> list[dict[str, object]]:
        return [
            p
            for page in (1, 2, 3)
            for p in httpx.get(f"{demo.base_url}/people", params={"per_page": 1000, "page": page}).json()[
                "data"
            ]
        ]

    before = everyone()
    assert httpx.post(f"{demo.base_url}/admin/revision", params={"n": 1}).json() == {"revision": 1}
    after = everyone()
    changed = [a for a, b in zip(after, before, strict=True) if a != b]
    assert len(changed) == 250
    newest_before = max(p["updated_at"] for p in before)  # type: ignore[type-var]
    assert all(p["updated_at"] > newest_before for p in changed)  # type: ignore[operator]

    # the records changed since the last full read are exactly what updated_since returns
    since = httpx.get(
        f"{demo.base_url}/people", params={"updated_since": newest_before, "per_page": 1000}
    ).json()
    assert since["meta"]["total"] == 250 and {p["id"] for p in since["data"]} == {p["id"] for p in changed}

    demo.set_revision(2)
    third = everyone()
    assert sum(a != b for a, b in zip(third, after, strict=True)) == 250
    assert sum(a != b for a, b in zip(third, before, strict=True)) == 500
    demo.set_revision(0)
    assert everyone() == before


async def test_the_rest_connector_reads_everything(demo: DemoServer) -> None:
    source = RestSource(location=demo.base_url)
    read = RestRead(
        path="/people",
        query={"per_page": 1000},
        records="data",
        pagination={"type": "page", "param": "page", "size_param": "per_page"},
        incremental={"cursor": "updated_at", "param": "updated_since"},
    )
    ctx = ReadContext(pipeline="demo")
    async with RestConnector("demo", source) as connector:
        ids = [r["id"] async for batch in connector.read(read, ctx) for r in batch.records]
    assert ids == list(range(1, 2_501)) and ctx.complete

    demo.set_revision(1)
    ctx = ReadContext(pipeline="demo", cursor="2024-01-01T00:41:39Z")  # newest updated_at of revision 0
    async with RestConnector("demo", source) as connector:
        changed = [r async for batch in connector.read(read, ctx) for r in batch.records]
    assert [r["id"] for r in changed] == list(range(10, 2_501, 10))  # revision 1 touched every tenth


def test_command_line_serves_until_stopped() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "openconnector.demo", "--port", "0", "--records", "50"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "50 people at http://127.0.0.1:" in line
        url = line.split(" at ", 1)[1].split("/people", 1)[0]
        assert httpx.get(f"{url}/people", params={"per_page": 100}).json()["meta"]["total"] == 50
    finally:
        proc.terminate()
        proc.wait(timeout=10)
