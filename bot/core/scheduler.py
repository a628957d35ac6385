"""APScheduler drives the engine's tick; the engine's own table decides what is due.

APScheduler 3.11's `AsyncIOScheduler` with its in-memory job store runs one interval job. Its
cron triggers are not used: slot times, DST and catch-up follow DESIGN.md in `bot.cronspec`
and `Engine.post_due`, and a post is reserved in the database, so a tick that runs twice or
late posts nothing twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.engine import Engine

_log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, engine: Engine, interval_seconds: float) -> None:
        self.engine = engine
        self.interval = interval_seconds
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    async def _tick(self) -> None:
        try:
            await self.engine.tick()
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

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
