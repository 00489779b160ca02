"""Cron schedules: fire each slot once, in the schedule's time zone, never overlapping a run.

The last slot fired per (pipeline, schedule) lives in the database and is *claimed* with a
conditional UPDATE, so two servers never fire the same slot, and a server that was down fires a
missed slot once when it comes back — once, however many slots it missed. A slot that falls while
the pipeline still runs is skipped (and counted), not queued: the run in progress already reads
what that slot would have read.

Time comes from an injectable :class:`~openconnector.triggers.clock.Clock`; :meth:`Scheduler.tick`
takes "now" as an argument, so tests drive the schedule through days in microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from openconnector.config.models import ScheduleTrigger
from openconnector.registers import tables as t
from openconnector.timeutil import iso, now_iso, parse_iso
from openconnector.triggers.clock import Clock, SystemClock

if TYPE_CHECKING:
    from openconnector.config import Project

log = logging.getLogger("openconnector.schedule")

FireFn = Callable[[str, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Schedule:
    pipeline: str
    cron: str
    timezone: str

    @property
    def key(self) -> str:
        return f"{self.cron}@{self.timezone}"

    def last_slot(self, at: datetime) -> datetime:
        """The latest slot at or before ``at``."""
        local = at.astimezone(ZoneInfo(self.timezone)).replace(microsecond=0) + timedelta(seconds=1)
        prev: datetime = croniter(self.cron, local).get_prev(datetime)
        return prev.astimezone(UTC).replace(fold=0)

    def next_slot(self, after: datetime) -> datetime:
        """The first slot strictly after ``after``."""
        local = after.astimezone(ZoneInfo(self.timezone))
        nxt: datetime = croniter(self.cron, local).get_next(datetime)
        return nxt.astimezone(UTC).replace(fold=0)


def schedules(project: Project) -> list[Schedule]:
    out: list[Schedule] = []
    for name, cfg in project.pipelines.items():
        if not cfg.enabled:
            continue
        for trig in cfg.triggers:
            if isinstance(trig, ScheduleTrigger):
                s = Schedule(name, trig.schedule, trig.timezone)
                if s not in out:
                    out.append(s)
    return out


class Scheduler:
    def __init__(
        self,
        project: Callable[[], Project],
        engine: Engine,
        fire: FireFn,
        *,
        clock: Clock | None = None,
        max_sleep_s: float = 30.0,
    ) -> None:
        self.project = project
        self.engine = engine
        self.fire = fire
        self.clock = clock or SystemClock()
        self.max_sleep_s = max_sleep_s
        self._task: asyncio.Task[None] | None = None
        #: the newest slot known to be fired (or baselined) per schedule, so an idle tick is free
        self._seen: dict[Schedule, datetime] = {}

    # -- the slot table ----------------------------------------------------------------------------

    def _last_fired(self, s: Schedule) -> datetime | None:
        ss = t.schedule_slots
        with self.engine.connect() as conn:
            value = conn.execute(
                select(ss.c.last_slot).where(ss.c.pipeline == s.pipeline, ss.c.schedule == s.key)
            ).scalar_one_or_none()
        return parse_iso(value) if value else None

    def _baseline(self, s: Schedule, slot: datetime) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t.schedule_slots).values(
                        pipeline=s.pipeline, schedule=s.key, last_slot=iso(slot), updated_at=now_iso()
                    )
                )
        except IntegrityError:
            pass  # another server wrote it first

    def _claim(self, s: Schedule, slot: datetime) -> bool:
        ss = t.schedule_slots
        with self.engine.begin() as conn:
            res = conn.execute(
                update(ss)
                .where(ss.c.pipeline == s.pipeline, ss.c.schedule == s.key, ss.c.last_slot < iso(slot))
                .values(last_slot=iso(slot), updated_at=now_iso())
            )
        return res.rowcount == 1

    # -- firing ------------------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> list[tuple[str, datetime]]:
        """Fire every schedule whose next slot is due at ``now``; returns what was fired.

        A schedule seen for the first time starts counting from ``now`` (nothing was missed). One
        that missed several slots fires once, for the latest of them.
        """
        at = now or self.clock.now()
        fired: list[tuple[str, datetime]] = []
        for s in schedules(self.project()):
            latest = s.last_slot(at)
            known = self._seen.get(s)
            if known is not None and latest <= known:
                continue  # nothing due: no database round trip
            last = await asyncio.to_thread(self._last_fired, s)
            if last is None:
                await asyncio.to_thread(self._baseline, s, latest)
                self._seen[s] = latest
                continue
            self._seen[s] = max(last, latest)
            if latest <= last:
                continue
            if not await asyncio.to_thread(self._claim, s, latest):
                continue  # another server fired it
            missed = s.next_slot(last) < latest
            log.info(
                "schedule %s fires for %s%s",
                s.cron,
                latest.isoformat(),
                " (slots were missed while no server ran; running once)" if missed else "",
                extra={"pipeline": s.pipeline},
            )
            fired.append((s.pipeline, latest))
            try:
                await self.fire(s.pipeline, latest)
            except Exception:
                log.exception("scheduled run could not start", extra={"pipeline": s.pipeline})
        return fired

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest next slot over every schedule (for sleeping and for the API)."""
        slots = [s.next_slot(now) for s in schedules(self.project())]
        return min(slots) if slots else None

    async def run_forever(self) -> None:
        while True:
            now = self.clock.now()
            try:
                await self.tick(now)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler pass failed")
            due = self.next_due(self.clock.now())
            wait = self.max_sleep_s
            if due is not None:
                wait = min(wait, max(0.0, (due - self.clock.now()).total_seconds()) + 0.01)
            await self.clock.sleep(wait)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name="openconnector-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
