"""Answers through the real AsyncApp over HTTP: thread replies, edits, redeliveries."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.tables import answers
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory

ANSWER = (
    "A hash index gives O(1) point lookups but no range scans; a B-tree keeps keys sorted, "
    "so it serves ranges and ordering at O(log n)."
)


async def _answers(core, team: str = "T1") -> list[sa.Row]:
    async with core.db.read() as conn:
        return list(await conn.execute(sa.select(answers).where(answers.c.workspace_id == team)))


async def test_thread_reply_is_graded_with_reaction_and_ephemeral_feedback(
    slack: Factory,
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    posted = h.fake.posts("T1", "C1")[0]
    assert posted["metadata"]["event_payload"]["key"].startswith("drillbot-daily-T1-")
    ts = h.next_ts()
    sent = await h.event(
        p.thread_reply("T1", "C1", "U1", daily.message_id, ts, ANSWER, h.next_id())
    )
    assert sent.status == 200
    await eventually(lambda: h.fake.called("reactions.add"))
    await h.core.grading.drain()
    [reaction] = h.fake.called("reactions.add")
    assert reaction["timestamp"] == ts and reaction["channel"] == "C1"
    [feedback] = h.fake.ephemerals("T1", "U1")
    assert feedback["thread_ts"] == daily.message_id
    rows = await _answers(h.core)
    assert [(r.user_id, r.source, r.text) for r in rows] == [("U1", "thread", ANSWER)]


async def test_edit_before_close_regrades_and_is_not_taken_for_a_retry(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    ts = h.next_ts()
    weak = "It is when a model does badly on data"
    await h.event(p.thread_reply("T1", "C1", "U1", daily.message_id, ts, weak, h.next_id()))
    await eventually(lambda: len(h.fake.ephemerals("T1", "U1")) == 1)
    good = h.core.bank.get(daily.question_id).reference_answer
    edit = p.message_changed("T1", "C1", "U1", daily.message_id, ts, h.next_ts(), good, h.next_id())
    assert (await h.event(edit)).status == 200
    await eventually(lambda: len(h.fake.ephemerals("T1", "U1")) == 2)
    await h.core.grading.drain()
    [row] = await _answers(h.core)
    assert row.text == good and row.edited_at is not None and row.status == "graded"
    bands = [r["name"] for r in h.fake.called("reactions.add")]
    assert bands[0] == "small_red_triangle" and bands[-1] != bands[0]
    assert [r["name"] for r in h.fake.called("reactions.remove")] == [bands[0]]


async def test_slack_redeliveries_never_answer_grade_or_reply_twice(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    reply = p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), ANSWER, h.next_id())
    too_long = p.thread_reply(
        "T1", "C1", "U2", daily.message_id, h.next_ts(), "x" * 4001, h.next_id()
    )
    for body in (reply, too_long):
        assert (await h.event(body)).status == 200
        for attempt in ("1", "2"):
            sent = await h.event(
                body, **{"X-Slack-Retry-Num": attempt, "X-Slack-Retry-Reason": "http_timeout"}
            )
            assert sent.status == 200
    # the same message delivered again under a new event id (another subscription)
    reply["event_id"] = h.next_id()
    await h.event(reply)
    await eventually(lambda: len(h.fake.ephemerals("T1")) == 2)
    await h.core.grading.drain()
    assert len(await _answers(h.core)) == 1
    assert len(h.fake.called("reactions.add")) == 1
    refusals = h.fake.ephemerals("T1", "U2")
    assert len(refusals) == 1 and "limit is 4000" in refusals[0]["text"]
    assert len(h.fake.ephemerals("T1", "U1")) == 1


async def test_chatter_other_threads_and_bots_are_ignored(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    chatter = p.channel_message("T1", "C1", "U1", h.next_ts(), ANSWER, h.next_id())
    other_thread = p.thread_reply(
        "T1", "C1", "U1", "1700000000.000001", h.next_ts(), ANSWER, h.next_id()
    )
    bot = p.thread_reply("T1", "C1", "U2", daily.message_id, h.next_ts(), ANSWER, h.next_id())
    bot["event"]["bot_id"] = "B999"
    own = p.thread_reply("T1", "C1", "UBT1", daily.message_id, h.next_ts(), ANSWER, h.next_id())
    for body in (chatter, other_thread, bot, own):
        assert (await h.event(body)).status == 200
    await h.service.events.inflight.wait(5)
    await h.core.grading.drain()
    assert await _answers(h.core) == []
    assert h.fake.called("chat.postEphemeral") == []


async def test_stale_or_wrongly_signed_requests_get_401(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    body, kind = p.json_body(
        p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), ANSWER, h.next_id())
    )
    stale = p.signed_headers(body, kind, timestamp=int(__import__("time").time()) - 6 * 60)
    wrong = p.signed_headers(body, kind, secret="not-the-secret")
    tampered = p.signed_headers(body, kind)
    for headers, sent_body in ((stale, body), (wrong, body), (tampered, body + " ")):
        sent = await h.send((sent_body, kind), headers, signed=False)
        assert sent.status == 401
    unsigned = await h.send((body, kind), signed=False)
    assert unsigned.status == 401
    await h.core.grading.drain()
    assert await _answers(h.core) == []


async def test_thread_feedback_mode_replies_publicly_in_the_thread(slack: Factory) -> None:
    h = await slack()
    await h.command("T1", "C1", "UADMIN", "config feedback=thread")
    await eventually(lambda: h.fake.responses)
    daily = await h.daily("T1", "C1")
    good = h.core.bank.get(daily.question_id).reference_answer
    await h.event(
        p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), good, h.next_id())
    )
    await eventually(lambda: len(h.fake.posts("T1", "C1")) == 2)
    await h.core.grading.drain()
    feedback = h.fake.posts("T1", "C1")[1]
    assert feedback["thread_ts"] == daily.message_id and "/10" in feedback["text"]
    assert h.fake.ephemerals("T1", "U1") == []


async def test_a_non_answer_earns_nothing_and_the_next_answer_replaces_it(slack: Factory) -> None:
    """The non-answer rule through Slack: a floored thread reply (zero-width and emoji only), a
    floored edit of it, then a real edit that is graded and counts; MCQ clicks are never
    floored (`test_interactions`)."""
    h = await slack()
    daily = await h.daily("T1", "C1")
    ts = h.next_ts()
    blank = "\u200b\u200d :shrug: :fire: :fire: :+1: \U0001f937"
    await h.event(p.thread_reply("T1", "C1", "U1", daily.message_id, ts, blank, h.next_id()))
    [told] = await eventually(lambda: h.fake.ephemerals("T1", "U1"))
    assert "It earns nothing" in told["text"]
    [row] = await _answers(h.core)
    assert (row.floor, row.status, row.points) == ("blank", "floored", None)
    shrug = p.message_changed(
        "T1", "C1", "U1", daily.message_id, ts, h.next_ts(), "idk", h.next_id()
    )
    await h.event(shrug)
    await eventually(lambda: len(h.fake.ephemerals("T1", "U1")) == 2)
    [row] = await _answers(h.core)
    assert (row.floor, row.text) == ("non_answer", "idk")
    assert h.fake.called("reactions.add") == []
    real = p.message_changed(
        "T1", "C1", "U1", daily.message_id, ts, h.next_ts(), ANSWER, h.next_id()
    )
    await h.event(real)
    await eventually(lambda: h.fake.called("reactions.add"))
    await h.core.grading.drain()
    [row] = await _answers(h.core)
    assert (row.floor, row.status, row.text) == (None, "graded", ANSWER)
    assert row.points is not None
