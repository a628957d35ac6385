"""The daily on Discord: the post, its thread, and answers through the form and the thread."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.tables import workspaces
from testing.polling import eventually
from tests.platforms.discord.conftest import GOOD_ANSWER, MCQ, Harness


async def test_daily_is_an_embed_with_a_button_and_a_thread(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    embed = message["embeds"][0]
    assert "What is overfitting" in embed["description"]
    assert "ml" in embed["title"] and "easy" in embed["title"]
    closes = int(daily.closes_at.timestamp())
    assert f"<t:{closes}:R>" in embed["fields"][0]["value"]
    assert embed["footer"]["text"] == f"drillbot-daily-{harness.guild}-{daily.id}"
    button = message["components"][0]["components"][0]
    assert button["custom_id"] == f"drill:answer:{daily.id}"
    assert len(message["nonce"]) <= 25
    thread = harness.fake.channels[int(daily.message_id)]
    assert thread["type"] == 11 and thread["parent_id"] == str(harness.channel)
    assert thread["thread_metadata"]["auto_archive_duration"] == 1440
    assert "Answer privately" in embed["fields"][1]["value"]
    assert "discussion" in embed["fields"][1]["value"]


async def test_answer_privately_opens_a_form_and_the_answer_stays_private(
    harness: Harness,
) -> None:
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    click = await harness.fake.click(harness.alice, message, f"drill:answer:{daily.id}")
    await eventually(lambda: harness.fake.callbacks[int(click["id"])])
    modal = harness.fake.callbacks[int(click["id"])][0]
    assert modal["type"] == 9 and modal["data"]["custom_id"] == f"drill:form:{daily.id}"
    submit = await harness.fake.submit(
        harness.alice, message, f"drill:form:{daily.id}", GOOD_ANSWER
    )
    await eventually(lambda: len(harness.fake.replies(submit)) >= 1)
    rows = await harness.answers()
    assert [(r.user_id, r.source, r.kind) for r in rows] == [(harness.alice["id"], "form", "daily")]
    await eventually(lambda: len(harness.fake.replies(submit)) >= 2)
    texts = harness.fake.replies(submit)
    assert any("private until the reveal" in t for t in texts)
    assert any("/10" in t for t in texts)
    assert all(f["flags"] & 64 for f in harness.fake.followups[submit["token"]])
    thread = int(daily.message_id)
    assert harness.fake.bot_messages(thread) == []  # nothing public before the reveal


async def test_thread_reply_answers_with_message_content(harness: Harness) -> None:
    await harness.start(message_content=True)
    daily = await harness.daily()
    embed = harness.daily_message(daily)["embeds"][0]
    assert "Reply in the thread" in embed["fields"][1]["value"]
    thread = int(daily.message_id)
    reply = await harness.fake.say(thread, harness.alice, GOOD_ANSWER)
    await harness.fake.say(thread, harness.alice, "and a follow-up thought, not an answer")
    await eventually(lambda: harness.fake.reactions)
    await harness.settle()
    rows = await harness.answers()
    assert [(r.source, r.message_id, r.text) for r in rows] == [
        ("thread", reply["id"], GOOD_ANSWER)
    ]
    assert harness.fake.reactions[0][:2] == (thread, int(reply["id"]))
    dm = harness.fake.dm_channel(harness.alice)
    assert dm is not None  # private feedback for a thread answer goes by DM
    await eventually(lambda: harness.fake.bot_messages(dm))
    assert "/10" in harness.fake.bot_messages(dm)[0]["content"]
    sent = [
        c.body for c in harness.fake.calls if c.method == "POST" and c.path.endswith("/messages")
    ]
    assert sent and all(body["allowed_mentions"] == {"parse": []} for body in sent)


async def test_thread_reply_is_discussion_without_message_content(harness: Harness) -> None:
    await harness.start(message_content=False)
    daily = await harness.daily()
    await harness.fake.say(int(daily.message_id), harness.alice, GOOD_ANSWER)
    await harness.fake.say(harness.channel, harness.alice, "unrelated chatter")
    await harness.barrier(harness.alice)
    assert await harness.answers() == []
    assert harness.fake.reactions == []


async def test_an_edit_before_close_regrades_and_a_redelivered_edit_does_not(
    harness: Harness,
) -> None:
    await harness.start(message_content=True)
    daily = await harness.daily()
    thread = int(daily.message_id)
    reply = await harness.fake.say(thread, harness.alice, "It is when a model does badly on data")
    await eventually(lambda: len(harness.fake.reactions) == 1)
    first = (await harness.answers())[0]
    edited = await harness.fake.edit(reply, GOOD_ANSWER)
    await eventually(lambda: len(harness.fake.reactions) == 2)
    await harness.fake.redeliver_message("MESSAGE_UPDATE", edited)
    await harness.fake.redeliver_message("MESSAGE_CREATE", reply)
    await harness.barrier(harness.alice)
    rows = await harness.answers()
    assert len(rows) == 1 and rows[0].text == GOOD_ANSWER
    assert rows[0].score > first.score
    assert len(harness.fake.reactions) == 2


async def test_a_non_answer_earns_nothing_and_the_next_reply_or_form_answer_replaces_it(
    harness: Harness,
) -> None:
    """The non-answer rule through Discord: a floored thread reply, its edit, a floored form
    answer and a later form answer; MCQ clicks are covered below (never floored)."""
    await harness.start(message_content=True)
    daily = await harness.daily()
    thread = int(daily.message_id)
    shrug = await harness.fake.say(thread, harness.alice, "no idea honestly 🤷")
    dm = await eventually(lambda: harness.fake.dm_channel(harness.alice))
    await eventually(lambda: harness.fake.bot_messages(dm))
    assert "It earns nothing" in harness.fake.bot_messages(dm)[0]["content"]
    [row] = await harness.answers()
    assert (row.floor, row.status, row.points) == ("non_answer", "floored", None)
    assert harness.fake.reactions == []  # no grade, no band
    await harness.fake.edit(shrug, GOOD_ANSWER)  # the edit replaces the placeholder
    await eventually(lambda: harness.fake.reactions)
    [row] = await harness.answers()
    assert (row.floor, row.status, row.text) == (None, "graded", GOOD_ANSWER)
    assert row.points is not None and row.points >= row.score
    # bob: a floored form answer, then a real one through the form again
    message = harness.daily_message(daily)
    first = await harness.fake.submit(harness.bob, message, f"drill:form:{daily.id}", "​.")
    await eventually(lambda: harness.fake.replies(first))
    assert any("It earns nothing" in t for t in harness.fake.replies(first))
    second = await harness.fake.submit(
        harness.bob, message, f"drill:form:{daily.id}", GOOD_ANSWER
    )
    await eventually(lambda: len(harness.fake.replies(second)) >= 2)
    bob = await harness.answers(user_id=harness.bob["id"])
    assert [(r.floor, r.status, r.text) for r in bob] == [(None, "graded", GOOD_ANSWER)]


async def test_mcq_daily_shows_letter_buttons_and_the_first_click_counts(
    harness: Harness,
) -> None:
    await harness.start()
    daily = await harness.daily(MCQ)
    message = harness.daily_message(daily)
    buttons = [b["custom_id"] for row in message["components"] for b in row["components"]]
    assert buttons == [f"drill:choice:{daily.id}:{letter}" for letter in "ABC"]
    first = await harness.fake.click(harness.alice, message, f"drill:choice:{daily.id}:B")
    await eventually(lambda: harness.fake.replies(first))
    second = await harness.fake.click(harness.alice, message, f"drill:choice:{daily.id}:A")
    await eventually(lambda: harness.fake.replies(second))
    rows = await harness.answers()
    assert [(r.text, r.score) for r in rows] == [("B", 10)]
    assert "median" in harness.fake.replies(first)[0]
    assert "already answered" in harness.fake.replies(second)[0]


async def test_the_reveal_goes_in_the_thread_at_close(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    submit = await harness.fake.submit(
        harness.alice, message, f"drill:form:{daily.id}", "<@&1> @everyone " + GOOD_ANSWER
    )
    await eventually(lambda: len(harness.fake.replies(submit)) >= 2)
    assert await harness.core.dailies.close_due(harness.ref, force=True) == 1
    reveal = harness.fake.bot_messages(int(daily.message_id))[0]["embeds"][0]
    assert "1 answered" in reveal["description"]
    assert "Alice" in reveal["description"]
    assert "@everyone" not in reveal["description"].replace("@\u200beveryone", "")


async def test_thread_feedback_mode_replies_in_the_thread(harness: Harness) -> None:
    await harness.start(message_content=True)
    daily = await harness.daily()
    await harness.core.store.tenancy.update_channel(
        str(harness.guild), str(harness.channel), feedback="thread"
    )
    thread = int(daily.message_id)
    await harness.fake.say(thread, harness.alice, GOOD_ANSWER)
    await eventually(lambda: harness.fake.bot_messages(thread))
    feedback = harness.fake.bot_messages(thread)[0]
    assert "/10" in feedback["content"]
    assert harness.fake.dm_channel(harness.alice) is None


async def test_an_answer_over_4000_characters_is_refused_politely(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    submit = await harness.fake.submit(
        harness.alice, message, f"drill:form:{daily.id}", "word " * 900
    )
    await eventually(lambda: harness.fake.replies(submit))
    assert "the limit is 4000" in harness.fake.replies(submit)[0]
    assert await harness.answers() == []


async def test_leaving_a_server_stops_its_schedules(harness: Harness) -> None:
    await harness.start()

    async def inactive() -> bool:
        async with harness.db.read() as conn:
            active = await conn.scalar(
                sa.select(workspaces.c.active).where(workspaces.c.id == str(harness.guild))
            )
        return active is False

    assert not await inactive()
    await harness.fake.dispatch("GUILD_DELETE", {"id": str(harness.guild)})
    await eventually(inactive)
