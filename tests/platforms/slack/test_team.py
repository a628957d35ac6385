"""The weekly digest and reminders through the real Slack adapter and the fake Web API:
Block Kit sections in the channel, reminders as DMs, no mention anywhere."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from bot.domain.types import ChannelRef
from bot.store.tables import channels
from testing.polling import eventually
from tests.platforms.slack.conftest import Factory
from tests.services.test_team import at, name_users, put_answer, put_daily

REF = ChannelRef("T1", "C1")
SNEAKY = "Uma <@U2> <!channel>"  # a display name that tries to ping


async def test_digest_is_block_kit_in_the_channel_and_reminders_are_dms(
    slack: Factory, clock
) -> None:
    h = await slack()
    core = h.core
    await core.tenants.ensure_channel(REF, name="drills")
    async with core.db.write() as conn:
        await conn.execute(
            channels.update()
            .where(channels.c.workspace_id == "T1", channels.c.id == "C1")
            .values(created_at=datetime(2026, 11, 9, tzinfo=UTC), remind_minutes=60)
        )
    question = next(iter(core.bank)).id
    last_week = date(2026, 11, 18)
    daily = await put_daily(core, last_week, question, ref=REF)
    await put_answer(core, "U1", daily, at(last_week), 7, question_id=question, ref=REF)
    await name_users(core, ("U1", SNEAKY, "public"), workspace="T1")

    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    digest, posted = h.fake.posts("T1", "C1")[:2]
    assert digest["blocks"][0]["type"] == "header"
    assert "Weekly digest for #drills, week 2026-W47" in digest["blocks"][0]["text"]["text"]
    sections = [b["text"]["text"] for b in digest["blocks"][1:]]
    assert sections[0].startswith("*Participation*\n1 person answered 1 time(s)")
    assert sections[-1].startswith("*Top 3 on points*\n1. Uma &lt;@")  # escaped: no ping
    assert sections[-1].endswith("&lt;!channel&gt; (7 pts)")
    assert "<@" not in json.dumps(digest) and "<!channel" not in json.dumps(digest)
    assert "Daily question" in posted["text"]

    # Monday's daily closes at Tuesday 09:00; an hour before, U1 (recent, unanswered) gets a DM.
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    await core.tick.run()
    await eventually(lambda: h.fake.messages.get(("T1", "DU1")))
    (dm,) = h.fake.posts("T1", "DU1")
    assert "Reminder: today's drill question in #drills closes in 1 h 0 min" in dm["text"]
    assert "<@" not in json.dumps(dm)
    assert [p for p in h.fake.posts("T1", "C1") if "Reminder" in p["text"]] == []
    await core.tick.run()
    assert len(h.fake.posts("T1", "DU1")) == 1
