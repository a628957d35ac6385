"""APScheduler really drives the core's tick; the clock the core reads is injected."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.app import Core
from bot.clock import ManualClock, ScaledClock
from bot.domain.types import ChannelRef
from bot.services.scheduler import Ticker
from testing.fakes import RecordingAdapter


async def test_ticker_posts_due_slot_once(core: Core, clock: ManualClock,
                                          adapter: RecordingAdapter) -> None:
    ref = ChannelRef("T1", "C1")
    await core.tenants.ensure_workspace("T1", "test")
    await core.tenants.ensure_channel(ref, cron="0 9 * * *")
    clock.set(datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC))
    ticker = Ticker(core.tick, interval_seconds=0.05)
    ticker.start()
    try:
        for _ in range(100):  # at most 2 s of real time; normally a few ticks
            await asyncio.sleep(0.02)
            if adapter.posts:
                break
        await asyncio.sleep(0.15)  # a few more ticks: nothing more is posted
    finally:
        ticker.stop()
    assert len(adapter.posts) == 1


def test_scaled_clock_runs_faster() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ScaledClock(3600.0, start)
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() - first >= timedelta(seconds=30)  # 10 ms of real time is 36 s here
    assert first >= start
    assert ScaledClock(1.0).now().tzinfo is UTC
