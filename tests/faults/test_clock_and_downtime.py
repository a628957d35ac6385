"""F13 (the clock stepped back) and F9 (down across a slot) on the core with an injected clock,
on SQLite and PostgreSQL. F9's two cases are also `tests/services/test_core.py::
test_restart_catch_up_inside_window_and_skip_outside`; here the `missed_post` line is checked
too."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Core
from bot.clock import ManualClock
from testing.fakes import RecordingAdapter
from tests.services.test_core import setup_channel


async def test_f13_a_clock_stepped_back_ten_minutes_posts_nothing_twice(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    clock.set(datetime(2026, 11, 23, 8, 50, tzinfo=UTC))
    await setup_channel(core, cron="0 9 * * *")
    clock.set(datetime(2026, 11, 23, 9, 2, tzinfo=UTC))
    await core.tick.run()
    assert len(adapter.posts) == 1
    clock.advance(timedelta(minutes=-10))  # an NTP step back: 08:52 again
    await core.tick.run()
    clock.advance(timedelta(minutes=11))  # and forward past the slot once more: 09:03
    await core.tick.run()
    await core.tick.run()
    assert len(adapter.posts) == 1


async def test_f9_down_across_a_slot_inside_and_beyond_the_catch_up_window(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    await setup_channel(core, cron="0 9 * * *")
    clock.set(datetime(2026, 11, 23, 11, 59, tzinfo=UTC))  # up again 2 h 59 min late
    await core.tick.run()
    await core.tick.run()
    assert len(adapter.posts) == 1  # (a) exactly one late post
    caplog.set_level(logging.WARNING, logger="bot.services.dailies")
    clock.set(datetime(2026, 11, 24, 12, 1, tzinfo=UTC))  # down past the 3 h window
    await core.tick.run()
    await core.tick.run()
    assert len(adapter.posts) == 1  # (b) no post
    missed = [r for r in caplog.records if r.getMessage().startswith("missed_post")]
    assert len(missed) == 1 and "2026-11-24" in missed[0].getMessage()
