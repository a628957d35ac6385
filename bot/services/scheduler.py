"""APScheduler drives the tick; the database decides what is due.

APScheduler 3.11's `AsyncIOScheduler` with its in-memory job store runs one interval job. Its
cron triggers are not used: slot times, DST and catch-up follow docs/design.md in
`bot.domain.cronspec` and `DailyLifecycle.post_due`, and a post is reserved in the database,
so a tick that runs twice or late posts nothing twice.

A second interval job, the heartbeat, renews this process's leases (bot.services.leases); it
runs even when the process takes no time-driven work, since it still grades what it receives.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.dailies import Step, Tick

_log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, tick: Tick, interval_seconds: float, heartbeat: Step | None = None) -> None:
        self.tick = tick
        self.interval = interval_seconds
        self.heartbeat = heartbeat
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._inflight: set[asyncio.Task[object]] = set()

    async def _tick(self) -> None:
        try:
            await self.tick.run(wait=False)
        except Exception:
            _log.exception("tick failed; the next tick tries again")

    def _tracked(self, job: Step) -> Step:
        """The job, its runs recorded so `drain` can wait for one still running at a stop."""

        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._inflight.add(task)
            try:
                await job()
            finally:
                self._inflight.discard(task)

        run.__name__ = getattr(job, "__name__", "job")
        return run

    def _every_interval(self, job: Step, name: str) -> None:
        self._scheduler.add_job(
            self._tracked(job),
            "interval",
            seconds=self.interval,
            id=name,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )

    def start(self, time_driven: bool = True) -> None:
        """Start ticking at once (the first tick is the restart catch-up); without
        `time_driven`, only the heartbeat runs."""
        if self.heartbeat is not None:
            self._every_interval(self.heartbeat, "drillbot-heartbeat")
        if time_driven:
            self._every_interval(self._tick, "drillbot-tick")
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def drain(self) -> None:
        """After `stop`: wait for a tick or heartbeat still running (it may be mid-write)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
