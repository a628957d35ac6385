"""APScheduler drives the tick; the database decides what is due.

APScheduler 3.11's `AsyncIOScheduler` with its in-memory job store runs one interval job. Its
cron triggers are not used: slot times, DST and catch-up follow docs/design.md in
`bot.domain.cronspec` and `DailyLifecycle.post_due`, and a post is reserved in the database,
so a tick that runs twice or late posts nothing twice.

A second interval job, the heartbeat, renews this process's leases (bot.services.leases); it
runs even when the process takes no time-driven work, since it still grades what it receives.

Stopping waits for the tick in flight. APScheduler 3's asyncio executor cannot: its shutdown
(itself deferred to the next turn of the loop) cancels a running job and returns. A tick
cancelled in the middle of a database call leaves SQLAlchemy closing the aiosqlite connection
in a task of its own while the caller goes on to close the database; that close never finished
and the event loop hung at exit (seen in `make test`, in the teardown of the ticker's test).
So the tick's steps run in tasks of their own (`Tick`), which the scheduler never cancels, and
`stop()` waits for them (bounded) before anything is closed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.dailies import Step, Tick

_log = logging.getLogger(__name__)

#: How long stopping waits for the steps in flight before it cancels what is left.
STOP_GRACE = 30.0


class Ticker:
    def __init__(self, tick: Tick, interval_seconds: float, heartbeat: Step | None = None) -> None:
        self.tick = tick
        self.interval = interval_seconds
        self.heartbeat = heartbeat
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._stopping = False
        self._inflight: set[asyncio.Task[object]] = set()

    async def _tick(self) -> None:
        """Start the tick's steps and return: a step that hangs holds back only itself, and
        APScheduler's next run (one instance at a time) is never skipped for it. Once stopping
        has begun, no step starts."""
        if not self._stopping:
            self.tick.start()

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

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Start no more steps and let those in flight finish (a hung platform call is
        cancelled after `grace` seconds and unwound), so that what the steps use (the
        database, the platforms) can be closed after this returns."""
        self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self.tick.finish(grace)
        while self._inflight:  # a heartbeat still running (it may be mid-write)
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
