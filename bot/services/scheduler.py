"""APScheduler drives the tick; the database decides what is due.

APScheduler 3.11's `AsyncIOScheduler` with its in-memory job store runs one interval job. Its
cron triggers are not used: slot times, DST and catch-up follow docs/design.md in
`bot.domain.cronspec` and `DailyLifecycle.post_due`, and a post is reserved in the database,
so a tick that runs twice or late posts nothing twice.

Stopping waits for the tick in flight. APScheduler 3's asyncio executor cannot: its shutdown
(itself deferred to the next turn of the loop) cancels a running job and returns. A tick
cancelled in the middle of a database call leaves SQLAlchemy closing the aiosqlite connection
in a task of its own while the caller goes on to close the database; that close never finished
and the event loop hung at exit (seen in `make test`, in the teardown of the ticker's test).
So each tick runs in a task the scheduler cannot cancel, and `stop()` awaits it before it shuts
the scheduler down.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.dailies import Tick

_log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, tick: Tick, interval_seconds: float) -> None:
        self.tick = tick
        self.interval = interval_seconds
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: asyncio.Task[None] | None = None
        self._stopping = False

    async def _tick(self) -> None:
        """The scheduler's job: start a tick unless stopping, and wait for it shielded, so the
        scheduler's shutdown cancels only this wait, never the tick."""
        if self._stopping:
            return
        self._running = asyncio.create_task(self._run())
        await asyncio.shield(self._running)

    async def _run(self) -> None:
        try:
            await self.tick.run()
        except Exception:
            _log.exception("tick failed; the next tick tries again")

    def start(self) -> None:
        """Start ticking at once (the first tick is the restart catch-up)."""
        self._scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id="drillbot-tick",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    async def stop(self) -> None:
        """Start no more ticks and wait for the one in flight, so that what the tick uses
        (the database, the platforms) can be closed after this returns."""
        self._stopping = True
        if self._running is not None:
            await self._running
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
