"""Rate limits, restarts, lost posts, refused channels and the catch-up after a new session."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.app import create_service
from bot.domain.types import DailyPost
from bot.errors import StartupError
from bot.platforms.discord.service import DiscordService, DrillClient
from bot.services.dailies import SEND_LEASE
from bot.store.rows import DailyRow
from bot.store.tables import dailies
from testing.polling import eventually
from tests.platforms.discord.conftest import GOOD_ANSWER, OPEN, Harness


async def test_a_429_is_waited_out_and_the_post_is_sent_once(harness: Harness) -> None:
    await harness.start()
    harness.fake.rate_limit("POST", rf"/channels/{harness.channel}/messages")
    daily = await harness.daily()
    posts = [
        c
        for c in harness.fake.calls
        if c.method == "POST" and c.path == f"/channels/{harness.channel}/messages"
    ]
    assert len(posts) == 2
    assert [m["id"] for m in harness.fake.bot_messages(harness.channel)] == [daily.message_id]


async def test_a_429_on_a_follow_up_is_waited_out(harness: Harness) -> None:
    await harness.start()
    harness.fake.rate_limit("POST", r"/webhooks/\d+/.+")
    call = await harness.fake.slash(harness.alice, harness.channel, "help")
    await eventually(lambda: harness.fake.replies(call))
    assert "drillbot commands" in harness.fake.replies(call)[0]
    webhook = [c for c in harness.fake.calls if c.path.startswith("/webhooks/")]
    # every part of the (long) help once, and the one refused attempt again after Retry-After
    assert len(webhook) == len(harness.fake.replies(call)) + 1


async def test_buttons_keep_working_after_a_restart(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    await harness.stop()
    await harness.start()
    click = await harness.fake.click(harness.bob, message, f"drill:answer:{daily.id}")
    await eventually(lambda: harness.fake.callbacks[int(click["id"])])
    assert harness.fake.callbacks[int(click["id"])][0]["type"] == 9
    submit = await harness.fake.submit(harness.bob, message, f"drill:form:{daily.id}", GOOD_ANSWER)
    await eventually(lambda: harness.fake.replies(submit))
    rows = await harness.answers()
    assert [(r.user_id, r.source) for r in rows] == [(harness.bob["id"], "form")]


async def test_a_post_sent_before_a_crash_is_found_not_sent_again(harness: Harness) -> None:
    await harness.start()
    harness.fake.fail("POST", r"/channels/\d+/messages/\d+/threads")
    await harness.core.tenants.ensure_channel(harness.ref, name="interview-prep", cron=None)
    assert await harness.core.dailies.post_now(harness.ref) is not None  # sent, thread refused
    async with harness.db.read() as conn:
        (reserved,) = [DailyRow.of(r) for r in await conn.execute(sa.select(dailies))]
    assert reserved.status == "reserved"
    harness.clock.advance(SEND_LEASE * 2)  # its send lease runs out
    await harness.core.dailies.post_due()  # the retry finds the post and opens its thread
    (message,) = harness.fake.bot_messages(harness.channel)
    daily = await harness.core.store.dailies.get(str(harness.guild), reserved.id)
    assert daily is not None
    assert (daily.status, daily.message_id) == ("posted", message["id"])
    assert int(message["id"]) in harness.fake.channels  # the thread exists now


async def test_a_retried_send_returns_the_same_message(harness: Harness) -> None:
    service = await harness.start()
    daily = await harness.daily()
    post = DailyPost(daily.id, harness.ref, OPEN, daily.closes_at, True, "")
    assert await service.adapter.post_daily(post) == daily.message_id  # nonce enforced
    assert len(harness.fake.bot_messages(harness.channel)) == 1


async def test_a_refused_channel_is_paused_and_the_owner_told_once(harness: Harness) -> None:
    await harness.start()
    harness.fake.forbidden.add(harness.channel)
    await harness.core.tenants.ensure_channel(harness.ref, name="interview-prep", cron=None)
    await harness.core.dailies.post_now(harness.ref)
    await harness.core.dailies.post_now(harness.ref)
    channel = await harness.core.store.tenancy.channel(str(harness.guild), str(harness.channel))
    assert channel is not None and not channel.active
    owner_dm = harness.fake.dm_channel(harness.owner)
    assert owner_dm is not None
    (notice,) = harness.fake.bot_messages(owner_dm)
    assert "cannot post" in notice["content"] and "Study group" in notice["content"]


async def test_answers_said_while_disconnected_are_caught_up(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_identify_pause(self: DrillClient, shard_id: int | None, *, initial: bool) -> None:
        """discord.py waits 5 s before identifying again (Discord's identify rate)."""

    monkeypatch.setattr(DrillClient, "before_identify_hook", no_identify_pause)
    await harness.start(message_content=True)
    daily = await harness.daily()
    thread = int(daily.message_id)
    seen = await harness.fake.say(thread, harness.bob, GOOD_ANSWER)
    await eventually(lambda: len(harness.fake.reactions) == 1)
    missed = await harness.fake.say(thread, harness.alice, GOOD_ANSWER, dispatch=False)
    await harness.fake.reconnect()
    await eventually(lambda: len(harness.fake.identifies) == 2)
    assert harness.fake.resumes == 1  # it tried to resume, was refused, identified anew
    await eventually(lambda: len(harness.fake.reactions) == 2)
    rows = await harness.answers()
    assert {(r.user_id, r.message_id) for r in rows} == {
        (harness.bob["id"], seen["id"]),
        (harness.alice["id"], missed["id"]),
    }


async def test_a_process_runs_its_own_shards(harness: Harness) -> None:
    await harness.start(discord_shard_count=2, discord_shard_ids=[1])
    assert [i["shard"] for i in harness.fake.identifies] == [[1, 2]]
    assert harness.fake.synced == {}  # the process with shard 0 registers the commands
    with pytest.raises(StartupError, match="DISCORD_SHARD_COUNT"):
        DiscordService(harness.app(discord_shard_ids=[1]))


async def test_the_app_creates_the_service_and_needs_a_token(harness: Harness) -> None:
    app = harness.app()
    service = await create_service("discord", app)
    assert isinstance(service, DiscordService)
    assert harness.core.platforms.adapters["discord"] is service.adapter
    app.settings = app.settings.model_copy(update={"discord_token": None})
    with pytest.raises(StartupError, match="DISCORD_TOKEN"):
        await create_service("discord", app)
