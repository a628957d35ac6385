"""APScheduler really drives the core's tick; the clock the core reads is injected."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.app import Core
from bot.clock import ManualClock, ScaledClock
from bot.domain.types import ChannelRef
from bot.services.dailies import Tick
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
        await ticker.stop()
        await core.dailies.drain()  # the fan-outs the tick started
    assert len(adapter.posts) == 1


async def test_stop_waits_for_the_tick_in_flight_and_starts_no_more() -> None:
    """The scheduler's shutdown cancels a running job; stop() must let the tick finish
    instead, so the database is never closed under a tick (that hung the loop at exit)."""
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def slow_step() -> None:
        runs.append("started")
        started.set()
        await release.wait()
        runs.append("finished")

    ticker = Ticker(Tick(posting=slow_step, steps=[]), interval_seconds=0.01)
    ticker.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(ticker.stop())
    await asyncio.sleep(0.1)  # several intervals: the scheduler would cancel or start ticks
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)
    await asyncio.sleep(0.05)
    assert runs == ["started", "finished"]


def test_scaled_clock_runs_faster() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ScaledClock(3600.0, start)
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() - first >= timedelta(seconds=30)  # 10 ms of real time is 36 s here
    assert first >= start
    assert ScaledClock(1.0).now().tzinfo is UTC
