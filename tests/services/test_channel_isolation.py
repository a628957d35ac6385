"""Issue 12, finding 15: one channel row whose stored timezone or cron no longer loads stopped
posting for every channel. That channel is paused and an admin told once; the others post."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.domain.types import ChannelRef
from testing.fakes import RecordingAdapter
from tests.services.test_core import CH, setup_channel

BROKEN = ChannelRef(CH.workspace_id, "C-broken")


@pytest.mark.parametrize(
    "stored",
    [
        {"timezone": "Mars/Olympus"},  # a zone the installed tzdata does not have (any more)
        {"cron": "0 9 31 2 *"},  # accepted by earlier releases, refused now (finding 18)
    ],
)
async def test_finding15_a_broken_channel_is_paused_and_the_others_post(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, stored: dict[str, str]
) -> None:
    await setup_channel(core)
    await setup_channel(core, ref=BROKEN)
    await core.store.tenancy.update_channel(BROKEN.workspace_id, BROKEN.channel_id, **stored)
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()

    assert [post.channel for post in adapter.posts] == [CH]
    broken = await core.store.tenancy.channel(BROKEN.workspace_id, BROKEN.channel_id)
    assert broken is not None and broken.paused
    [notice] = adapter.notices
    assert "drillbot paused channel C-broken: its stored schedule" in notice
    assert "/drill schedule" in notice

    await core.store.tenancy.update_channel(BROKEN.workspace_id, BROKEN.channel_id, paused=False)
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    await core.tick.run()  # resumed but still broken: paused again, the admin not told twice
    assert [post.channel for post in adapter.posts] == [CH, CH]
    assert len(adapter.notices) == 1
