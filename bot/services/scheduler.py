"""APScheduler drives the tick; the database decides what is due.

APScheduler 3.11's `AsyncIOScheduler` with its in-memory job store runs one interval job. Its
cron triggers are not used: slot times, DST and catch-up follow docs/design.md in
`bot.domain.cronspec` and `DailyLifecycle.post_due`, and a post is reserved in the database,
so a tick that runs twice or late posts nothing twice.
"""

from __future__ import annotations

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

    async def _tick(self) -> None:
        """Start the tick's steps and return: a step that hangs holds back only itself, and
        APScheduler's next run (one instance at a time) is never skipped for it."""
        self.tick.start()

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

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self.tick.cancel()
