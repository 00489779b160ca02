"""Cron schedules against a real store, with a clock the test moves (no sleeping for minutes)."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openconnector.config import ConfigError, load_project
from openconnector.registers import Store
from openconnector.triggers import Scheduler
from tests.api.test_runs import wait_run
from tests.triggers.gated import GatedConnector
from tests.triggers.service import Server, people, write_project

CONFIG = """
registers:
  crm: {schemas: {person: person.json}}
sources:
  mem: {type: gated}
pipelines:
  hourly:
    source: mem
    read: {dataset: d}
    target: crm/person
    triggers: [{schedule: "0 * * * *"}]
  morning:
    source: mem
    read: {dataset: d}
    target: crm/person
    triggers: [{schedule: "0 6 * * *", timezone: Europe/Amsterdam}]
  off:
    source: mem
    read: {dataset: d}
    target: crm/person
    enabled: false
    triggers: [{schedule: "* * * * *"}]
"""


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=max(seconds, 0.001))
        await asyncio.sleep(0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def scheduler_parts(tmp_path: Path, store_url: str):  # type: ignore[no-untyped-def]
    project = load_project(write_project(tmp_path, CONFIG))
    store = Store(store_url)
    fired: list[tuple[str, datetime]] = []

    async def fire(pipeline: str, slot: datetime) -> None:
        fired.append((pipeline, slot))

    def make(clock: FakeClock | None = None) -> Scheduler:
        return Scheduler(lambda: project, store.engine, fire, clock=clock)

    yield make, fired
    store.dispose()


def test_fires_each_slot_once_from_the_first_sighting(scheduler_parts) -> None:  # type: ignore[no-untyped-def]
    make, fired = scheduler_parts
    s = make()
    assert asyncio.run(s.tick(at("2026-01-10T09:30:00"))) == []  # first sighting: nothing was missed
    assert asyncio.run(s.tick(at("2026-01-10T09:59:59"))) == []
    assert asyncio.run(s.tick(at("2026-01-10T10:00:00"))) == [("hourly", at("2026-01-10T10:00:00"))]
    assert asyncio.run(s.tick(at("2026-01-10T10:00:30"))) == []
    assert asyncio.run(s.tick(at("2026-01-10T11:00:05"))) == [("hourly", at("2026-01-10T11:00:00"))]
    assert [p for p, _ in fired] == ["hourly", "hourly"]  # the disabled pipeline never fires


def test_missed_slots_run_once_at_start_up(scheduler_parts) -> None:  # type: ignore[no-untyped-def]
    make, _fired = scheduler_parts
    asyncio.run(make().tick(at("2026-01-10T09:30:00")))
    # the server was down from 09:30 until 13:07: four hourly slots missed, one run
    restarted = make()
    assert asyncio.run(restarted.tick(at("2026-01-10T13:07:00"))) == [("hourly", at("2026-01-10T13:00:00"))]
    assert asyncio.run(restarted.tick(at("2026-01-10T13:30:00"))) == []
    assert asyncio.run(restarted.tick(at("2026-01-10T14:00:00"))) == [("hourly", at("2026-01-10T14:00:00"))]


def test_time_zone_and_daylight_saving(scheduler_parts) -> None:  # type: ignore[no-untyped-def]
    make, _fired = scheduler_parts
    s = make()

    def morning(now: str) -> list[datetime]:
        return [slot for p, slot in asyncio.run(s.tick(at(now))) if p == "morning"]

    morning("2026-01-10T00:00:00")
    # 06:00 in Amsterdam is 05:00 UTC in winter ...
    assert morning("2026-01-10T04:59:00") == []
    assert morning("2026-01-10T05:00:00") == [at("2026-01-10T05:00:00")]
    # ... and 04:00 UTC in summer
    assert morning("2026-07-01T03:59:00") == [at("2026-06-30T04:00:00")]  # missed while "down": once
    assert morning("2026-07-01T04:00:00") == [at("2026-07-01T04:00:00")]
    assert s.next_due(at("2026-07-01T04:00:00")) == at("2026-07-01T05:00:00")


def test_two_servers_fire_a_slot_once(scheduler_parts) -> None:  # type: ignore[no-untyped-def]
    make, fired = scheduler_parts
    a, b = make(), make()
    asyncio.run(a.tick(at("2026-01-10T09:30:00")))
    asyncio.run(b.tick(at("2026-01-10T09:30:00")))

    async def both() -> None:
        await asyncio.gather(a.tick(at("2026-01-10T10:00:01")), b.tick(at("2026-01-10T10:00:02")))

    asyncio.run(both())
    assert [p for p, _ in fired] == ["hourly"]


def test_the_loop_follows_the_clock(scheduler_parts) -> None:  # type: ignore[no-untyped-def]
    make, fired = scheduler_parts
    clock = FakeClock(at("2026-03-02T00:10:00"))
    s = make(clock)

    async def a_day() -> None:
        task = asyncio.create_task(s.run_forever())
        while clock.now() < at("2026-03-03T00:10:00"):
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(a_day())
    hourly = [slot for p, slot in fired if p == "hourly"]
    assert len(hourly) == 24 and hourly[0] == at("2026-03-02T01:00:00")
    assert hourly[-1] == at("2026-03-03T00:00:00")
    assert [slot for p, slot in fired if p == "morning"] == [at("2026-03-02T05:00:00")]


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ('{schedule: "every day at six"}', "not a valid cron expression"),
        ('{schedule: "61 * * * *"}', "not a valid cron expression"),
        ('{schedule: "0 6 * * *", timezone: "Mars/Olympus"}', "not a known time zone"),
    ],
)
def test_an_invalid_schedule_is_a_config_error_at_load_time(
    tmp_path: Path, trigger: str, message: str
) -> None:
    config = CONFIG.replace('[{schedule: "0 * * * *"}]', f"[{trigger}]")
    with pytest.raises(ConfigError) as info:
        load_project(write_project(tmp_path, textwrap.dedent(config)))
    problems = info.value.problems
    assert len(problems) == 1 and problems[0].path.startswith("pipelines.hourly.triggers[0]")
    assert message in problems[0].message and problems[0].line is not None


def test_a_slot_that_falls_during_a_run_is_skipped_not_overlapped(server: Server) -> None:
    GatedConnector.DATA["people"] = people(3)
    with server.client() as api:
        pipeline = api.get("/api/pipelines/people").json()
        pipeline["triggers"] = [{"schedule": "*/5 * * * *"}]
        assert api.put("/api/pipelines/people", json=pipeline).status_code == 200
        scheduler = server.service.scheduler
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        slot = now - timedelta(minutes=now.minute % 5)
        server.call(scheduler.tick(slot - timedelta(seconds=1)))  # baseline
        entered, release = GatedConnector.gate("people")
        run_id = api.post("/api/pipelines/people/run").json()["id"]
        assert entered.wait(10)
        assert server.call(scheduler.tick(slot)) == [("people", slot)]  # fired, and refused: busy
        metrics = api.get("/metrics").text
        assert 'openconnector_triggers_skipped_total{pipeline="people",trigger="schedule"} 1.0' in metrics
        release.set()
        wait_run(api, run_id)
        assert api.get("/api/runs", params={"pipeline": "people"}).json()["total"] == 1
        GatedConnector.GATES.clear()
        nxt = slot + timedelta(minutes=5)
        assert server.call(scheduler.tick(nxt)) == [("people", nxt)]
        runs = api.get("/api/runs", params={"pipeline": "people"}).json()
        assert runs["total"] == 2 and runs["results"][0]["trigger"] == "schedule"
