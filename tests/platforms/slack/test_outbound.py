"""The core's port on Slack: posts found again after a crash, unavailable channels,
private messages where ephemerals are impossible, admin notices."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.types import ChannelRef, DailyPost
from bot.store.tables import dailies
from tests.platforms.slack.conftest import Factory


def _post(h, daily_id: int = 99, channel: str = "C1") -> DailyPost:
    question = next(iter(h.core.bank))
    return DailyPost(
        daily_id,
        ChannelRef("T1", channel),
        question,
        h.core.clock.now() + timedelta(hours=1),
        False,
        "reply in the thread",
    )


async def test_a_post_sent_before_a_crash_is_found_in_the_history(slack: Factory) -> None:
    h = await slack()
    adapter = h.service.adapter
    post = _post(h)
    assert await adapter.find_daily(post) is None
    assert h.fake.called("conversations.history") == []  # never attempted: no history call
    ts = await adapter.post_daily(post)
    assert await adapter.find_daily(post) == ts
    other = _post(h, daily_id=100)
    assert await adapter.find_daily(other) is None


async def test_an_unconfirmed_daily_is_not_posted_twice_after_a_restart(slack: Factory) -> None:
    h = await slack()
    ref = ChannelRef("T1", "C1")
    await h.core.tenants.ensure_channel(ref)
    daily = await h.core.dailies.post_now(ref)
    assert daily is not None
    async with h.core.db.write() as conn:  # the process died before confirming the post
        await conn.execute(  # ... and its send lease has run out since
            dailies.update().values(status="reserved", message_id=None, send_started_at=None)
        )
    await h.core.dailies.post_due()
    assert len(h.fake.posts("T1", "C1")) == 1
    again = await h.core.store.dailies.get("T1", daily.id)
    assert again and again.status == "posted"
    assert again.message_id == h.fake.posts("T1", "C1")[0]["ts"]


async def test_a_channel_without_the_bot_is_paused_and_an_admin_told_once(slack: Factory) -> None:
    h = await slack()
    ref = ChannelRef("T1", "C9")
    h.fake.unavailable[("T1", "C9")] = "not_in_channel"
    await h.core.tenants.ensure_channel(ref)
    for _ in range(2):
        await h.core.dailies.post_now(ref)
        chan = await h.core.store.tenancy.channel("T1", "C9")
        assert chan is not None and not chan.active
        # an admin resumes; still not invited
        await h.core.store.tenancy.update_channel("T1", "C9", active=True)
    notices = h.fake.posts("T1", "DUADMIN")
    assert len(notices) == 1 and "C9" in notices[0]["text"]
    assert h.fake.posts("T1", "C9") == []


async def test_private_feedback_falls_back_to_a_dm(slack: Factory) -> None:
    h = await slack()
    h.fake.unavailable[("T1", "C5")] = "channel_not_found"
    await h.service.adapter.send_private(ChannelRef("T1", "C5"), "U1", "only for you", "1.2")
    [dm] = h.fake.posts("T1", "DU1")
    assert dm["text"] == "only for you"
