"""The weekly digest and reminders through discord.py and the fake Discord: an embed in the
channel, reminders as DMs, names escaped and every message sent with no allowed mention."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.store.tables import channels
from testing.polling import eventually
from tests.platforms.discord.conftest import OPEN, Harness
from tests.services.test_team import at, name_users, put_answer, put_daily

SNEAKY = "Al @everyone <@1>"


async def test_digest_is_an_embed_and_reminders_are_dms_without_mentions(
    harness: Harness,
) -> None:
    await harness.start()
    core, ref = harness.core, harness.ref
    guild, alice = ref.workspace_id, harness.alice["id"]
    await core.tenants.ensure_channel(ref, name="interview-prep")
    async with core.db.write() as conn:
        await conn.execute(
            channels.update()
            .where(channels.c.workspace_id == guild, channels.c.id == ref.channel_id)
            .values(created_at=datetime(2026, 11, 9, tzinfo=UTC), remind_minutes=60)
        )
    last_week = date(2026, 11, 18)
    daily = await put_daily(core, last_week, OPEN.id, ref=ref)
    await put_answer(core, alice, daily, at(last_week), 7, question_id=OPEN.id, ref=ref)
    await name_users(core, (alice, SNEAKY, "public"), workspace=guild)

    harness.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    digest, posted = harness.fake.bot_messages(harness.channel)[:2]
    embed = digest["embeds"][0]
    assert embed["title"].startswith("Weekly digest for #interview-prep, week 2026-W47")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Participation"].startswith("1 person answered 1 time(s)")
    assert fields["Mean score per topic"] == "ml 7.0/10 (1). Weakest: ml."
    top = fields["Top 3 on points"]
    assert "@everyone" not in top and top.endswith("(7 pts)")  # escaped by the adapter
    assert "drillbot-daily" in posted["embeds"][0]["footer"]["text"]

    harness.clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    await core.tick.run()
    await eventually(lambda: harness.fake.dm_channel(harness.alice))
    dm_channel = harness.fake.dm_channel(harness.alice)
    assert dm_channel is not None
    (dm,) = harness.fake.bot_messages(dm_channel)
    assert dm["content"].startswith("Reminder: today's drill question in #interview-prep")
    assert "<@" not in dm["content"]
    sends = [c for c in harness.fake.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert sends and all(c.body["allowed_mentions"] == {"parse": []} for c in sends)
    await core.tick.run()
    assert len(harness.fake.bot_messages(dm_channel)) == 1
