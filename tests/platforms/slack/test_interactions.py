"""Buttons and the modal: private answers, MCQ choices, and acks that never wait on grading."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from bot.app import Core, build_core
from bot.grading.base import Grade, GradeRequest
from bot.platforms.slack import blocks
from bot.store.tables import answers
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory, Harness


async def _rows(core: Core) -> list[sa.Row]:
    async with core.db.read() as conn:
        return list(await conn.execute(sa.select(answers).order_by(answers.c.id)))


async def _open_modal(h: Harness, daily_ts: str, daily_id: int, user: str) -> dict:
    click = p.block_action(
        "T1", "C1", user, daily_ts, blocks.ANSWER_ACTION, str(daily_id), h.next_id("trig")
    )
    assert (await h.interaction(click)).status == 200
    opened = await eventually(lambda: h.fake.called("views.open"))
    assert opened[-1]["trigger_id"] == click["trigger_id"]
    return dict(opened[-1]["view"])


async def test_answer_privately_opens_a_modal_whose_answer_nobody_sees(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    view = await _open_modal(h, daily.message_id, daily.id, "U1")
    assert view["callback_id"] == blocks.ANSWER_MODAL
    assert view["blocks"][-1]["element"]["max_length"] == 4000
    answer = h.core.bank.get(daily.question_id).reference_answer
    sent = await h.interaction(p.view_submission("T1", "U1", view, answer, h.next_id("V")))
    assert sent.status == 200 and sent.text == ""  # the modal closes
    await eventually(lambda: len(h.fake.ephemerals("T1", "U1")) == 2)
    await h.core.grading.drain()
    [row] = await _rows(h.core)
    assert (row.source, row.text, row.message_id) == ("form", answer, None)
    texts = [e["text"] for e in h.fake.ephemerals("T1", "U1")]
    assert any("private until the reveal" in t for t in texts)
    assert all(e["thread_ts"] == daily.message_id for e in h.fake.ephemerals("T1", "U1"))
    assert h.fake.called("reactions.add") == []  # no public trace of a private answer
    assert len(h.fake.posts("T1", "C1")) == 1


async def test_an_empty_or_too_long_modal_answer_stays_in_the_modal(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    view = await _open_modal(h, daily.message_id, daily.id, "U1")
    for text, expected in (("   ", "Write an answer"), ("x" * 4001, "limit is 4000")):
        sent = await h.interaction(p.view_submission("T1", "U1", view, text, "V9"))
        assert sent.status == 200
        reply = json.loads(sent.text)
        assert reply["response_action"] == "errors"
        assert expected in reply["errors"][blocks.ANSWER_BLOCK]
    assert await _rows(h.core) == []


async def test_mcq_buttons_take_the_first_click_and_explain_at_once(
    slack: Factory, mcq_core: Core
) -> None:
    h = await slack(core=mcq_core)
    daily = await h.daily("T1", "C1")
    question = h.core.bank.get(daily.question_id)
    posted = h.fake.posts("T1", "C1")[0]
    buttons = next(b for b in posted["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == question.letters
    wrong = next(letter for letter in question.letters if letter != question.answer)
    for letter in (question.answer, wrong):
        click = p.choice_click("T1", "C1", "U1", daily.message_id, daily.id, letter,
                               h.next_id("trig"))
        assert (await h.interaction(click)).status == 200
    await eventually(lambda: len(h.fake.ephemerals("T1", "U1")) == 2)
    await h.core.grading.drain()
    [row] = await _rows(h.core)
    assert (row.source, row.text, row.score) == ("choice", question.answer, 10)
    texts = " ".join(e["text"] for e in h.fake.ephemerals("T1", "U1"))
    assert "first answer counts" in texts and f"Correct answer: {question.answer}" in texts


class _StuckGrader:
    """A grader that does not answer until released: grading must never delay an ack."""

    name = "stuck"
    version = "1"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def grade(self, request: GradeRequest) -> Grade:
        await self.release.wait()
        return Grade(score=5, grader="stuck", grader_version="1", feedback="ok")


async def test_grading_never_delays_the_ack(slack: Factory, core: Core) -> None:
    stuck = _StuckGrader()
    slow = build_core(db=core.db, bank=core.bank, grader=stuck, clock=core.clock)
    h = await slack(core=slow)
    daily = await h.daily("T1", "C1")
    reply = await h.event(
        p.thread_reply(
            "T1", "C1", "U1", daily.message_id, h.next_ts(), "an answer of a few words", h.next_id()
        )
    )
    view = await _open_modal(h, daily.message_id, daily.id, "U2")
    submitted = await h.interaction(
        p.view_submission("T1", "U2", view, "mine, in a few words", "V1")
    )
    command = await h.command("T1", "C1", "U1", "history")
    # The grader never answers, so any ack at all proves grading is not awaited; the bound is
    # Slack's own (3 s), less a margin, so a loaded CI machine cannot fail it spuriously.
    for sent in (reply, submitted, command):
        assert sent.status == 200 and sent.seconds < 2.5
    await eventually(lambda: h.fake.responses)

    async def both() -> bool:
        return len(await _rows(h.core)) == 2

    await eventually(both)
    stored = await _rows(h.core)
    assert {r.status for r in stored} == {"pending"} and len(stored) == 2
    stuck.release.set()
    await h.core.grading.drain()
    assert {r.status for r in await _rows(h.core)} == {"graded"}
