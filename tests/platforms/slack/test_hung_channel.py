"""Finding 6: one hung channel does not stall the tick.

The fake Slack posts C1's daily and then never answers (a hung connection). While that request
hangs, the tick's other work goes on: C2 gets its daily and C3's closed daily its reveal, and
a second tick runs its closing step although the first tick's posting step is still waiting.
The hung attempt is abandoned at its timeout; the daily stays reserved, and once its lease
lapses it is looked for on Slack, found, and confirmed: C1 has exactly one post.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.domain.types import ChannelRef
from bot.platforms.slack.limits import Limits
from bot.services.dailies import SEND_LEASE
from bot.services.tenants import DEFAULT_CRON
from testing.polling import eventually
from tests.platforms.slack.conftest import Factory

pytestmark = [pytest.mark.audit, pytest.mark.usefixtures("sqlite_only")]

HUNG_FOR = 3.0  # the attempt timeout of this test (10 s in production)


async def test_a_hung_channel_delays_only_itself(
    slack: Factory, core: Core, clock: ManualClock
) -> None:
    h = await slack(limits=Limits(channel_interval=0.05, attempt_timeout=HUNG_FOR))
    revealed = await h.daily("T1", "C3")  # open now, closes in 24 h
    clock.advance(timedelta(hours=24, minutes=59))  # Tuesday 08:59 UTC
    for channel in ("C1", "C2"):
        await core.tenants.ensure_channel(ChannelRef("T1", channel), cron=DEFAULT_CRON)
    clock.advance(timedelta(minutes=2))  # 09:01: C1 and C2 are due, C3 is past its close
    h.fake.hang.add(("T1", "C1"))

    first = core.tick.start()
    await eventually(lambda: h.fake.hung == 1)
    await eventually(lambda: h.fake.posts("T1", "C2"))
    await eventually(lambda: len(h.fake.posts("T1", "C3")) == 2)  # the daily and its reveal
    assert h.fake.posts("T1", "C3")[1]["thread_ts"] == revealed.message_id
    assert h.fake.hung == 1  # C1's post is still waiting all along

    # A second tick while the first one's posting hangs: posting is not started again, the
    # other steps are (a daily that closed meanwhile is revealed).
    await core.tenants.ensure_channel(ChannelRef("T1", "C4"), cron=None)
    await core.store.tenancy.update_channel("T1", "C4", window_minutes=2)
    later = await h.daily("T1", "C4")
    clock.advance(timedelta(minutes=3))
    second = core.tick.start()
    assert len(second) == len(first) - 1
    await eventually(lambda: len(h.fake.posts("T1", "C4")) == 2)
    assert h.fake.posts("T1", "C4")[1]["thread_ts"] == later.message_id

    # The hung attempt is abandoned at its timeout, which ends the first tick's posting.
    await asyncio.wait_for(first[0], HUNG_FOR + 5)
    assert h.fake.hung == 1  # the server never answered it
    h.fake.release_hung()
    clock.advance(SEND_LEASE + timedelta(seconds=1))
    await core.tick.run()
    assert len(h.fake.posts("T1", "C1")) == 1  # looked for before a resend: found, not doubled
    [daily] = await core.store.dailies.posted_in("T1", "C1")
    assert daily.message_id == h.fake.posts("T1", "C1")[0]["ts"]
