"""The one rate limiter: pacing per channel and workspace, 429s waited out, nothing dropped."""

from __future__ import annotations

import asyncio
import time

from bot.domain.types import ChannelRef
from bot.errors import RateLimited
from bot.platforms.slack.limits import Limits, RateLimiter, Window
from testing.slack.fake_slack import Storm
from tests.platforms.slack.conftest import Factory


async def test_a_window_lets_capacity_through_then_waits_a_period_after_each_release() -> None:
    window = Window(2, 0.2)
    started: list[float] = []

    async def hold() -> None:
        async with window.slot():
            started.append(time.monotonic())

    t0 = time.monotonic()
    await asyncio.gather(*(hold() for _ in range(4)))
    offsets = sorted(s - t0 for s in started)
    assert offsets[1] < 0.05 and 0.19 < offsets[2] < 0.35 and 0.19 < offsets[3] < 0.35
    await asyncio.sleep(0.25)
    assert window.idle


async def test_rate_limited_calls_wait_retry_after_and_are_sent_again() -> None:
    limiter = RateLimiter(Limits(per_minute={"reactions.add": 100}))
    attempts = 0

    async def send() -> str:
        nonlocal attempts
        attempts += 1
        if attempts <= 3:
            raise RateLimited(0.01)
        return "done"

    assert await limiter.run("T1", "reactions.add", "C1", send) == "done"
    assert attempts == 4 and limiter.stats.rate_limited == 3


async def test_messages_of_one_channel_keep_their_order_through_429s() -> None:
    limiter = RateLimiter(Limits(channel_interval=0.01))
    sent: list[int] = []
    refusals = iter([True, True, False, False, False])

    async def post(n: int) -> None:
        async def send() -> None:
            if next(refusals):
                raise RateLimited(0.02)
            sent.append(n)

        await limiter.run("T1", "chat.postMessage", "C1", send)

    await asyncio.gather(*(post(n) for n in range(3)))
    assert sent == [0, 1, 2]


async def test_a_429_storm_delays_posts_but_drops_and_duplicates_none(
    slack: Factory, sqlite_only: None
) -> None:
    h = await slack()
    h.fake.storms["chat.postMessage"] = Storm(count=12, retry_after=0)
    for channel in ("C1", "C2", "C3"):
        await h.core.tenants.ensure_channel(ChannelRef("T1", channel))
    dailies = await asyncio.gather(
        *(h.core.dailies.post_now(ChannelRef("T1", c)) for c in ("C1", "C2", "C3"))
    )
    assert all(dailies)
    assert [len(h.fake.posts("T1", c)) for c in ("C1", "C2", "C3")] == [1, 1, 1]
    assert h.fake.rejected == 12
    assert h.service.api.limiter.stats.rate_limited == 12


async def test_pacing_keeps_real_slack_limits_without_a_single_429(
    slack: Factory, sqlite_only: None
) -> None:
    """Slack's real second per channel: a daily, its reveal and a thread reply in a row."""
    h = await slack(limits=Limits())
    h.fake.channel_interval = 1.0
    started = time.monotonic()
    daily = await h.daily("T1", "C1")
    await h.core.dailies.close_due(ChannelRef("T1", "C1"), force=True)
    await h.service.adapter.reply_in_thread(ChannelRef("T1", "C1"), daily.message_id, "more")
    assert len(h.fake.posts("T1", "C1")) == 3 and h.fake.rejected == 0
    assert time.monotonic() - started >= 2.0


async def test_a_burst_over_the_workspace_budget_is_paced_not_refused(
    slack: Factory, sqlite_only: None
) -> None:
    h = await slack()
    channels = [f"C{n}" for n in range(15)]
    for channel in channels:
        await h.core.tenants.ensure_channel(ChannelRef("T1", channel))
    started = time.monotonic()
    await asyncio.gather(*(h.core.dailies.post_now(ChannelRef("T1", c)) for c in channels))
    assert all(len(h.fake.posts("T1", c)) == 1 for c in channels)
    assert h.fake.rejected == 0
    assert time.monotonic() - started >= 1.0  # 10 at once, 5 a second later


async def test_a_429_from_slack_itself_is_waited_out(slack: Factory, sqlite_only: None) -> None:
    """The limiter believes 50 ms per channel; the fake insists on Slack's second."""
    h = await slack()
    h.fake.channel_interval = 1.0
    ref = ChannelRef("T1", "C1")
    await h.core.tenants.ensure_channel(ref)
    await h.core.dailies.post_now(ref)
    await h.service.adapter.reply_in_thread(ref, h.fake.posts("T1", "C1")[0]["ts"], "next")
    assert len(h.fake.posts("T1", "C1")) == 2
    assert h.fake.rejected >= 1 and h.service.api.limiter.stats.rate_limited >= 1
