"""Stored rubrics: an answer grades, re-grades and follows up on the rubric it was given, and
answers, sessions and cards of questions that left the bank stay readable and never crash."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from bot.app import Core
from bot.clock import ManualClock
from bot.config import SHIPPED_PACKS
from bot.domain.rubric import Rubric
from bot.domain.types import Actor
from bot.packs import KeyPoint, Question, load_bank
from bot.store.tables import answers, reviews, rubrics
from testing.fakes import FixedGrader, FlakyGrader, MarkingGrader, RecordingAdapter

from .test_mock import ALICE, WS, Chat, session_row, start


def reword(core: Core, question_id: str) -> Question:
    """Bank v2 happens: the question's key points are split and reworded, its weights moved."""
    old = core.bank.questions[question_id]
    new_points = [KeyPoint(text=f"v2 point {i}", weight=2.0 if i == 0 else 1.0) for i in range(4)]
    core.bank.questions[question_id] = old.model_copy(
        update={"prompt": "A reworded prompt for v2 of this question.", "key_points": new_points}
    )
    return old


async def practice_question(core: Core, chat: Chat) -> Question:
    out = await chat.cmd("practice statistics")
    async with core.db.read() as conn:
        qid = await conn.scalar(sa.text("SELECT question_id FROM practice"))
    assert qid, out
    return core.bank.questions[qid]


async def test_every_answer_keeps_its_rubric_with_weights(core: Core) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    core.grading.grader = FixedGrader(6)
    chat = Chat(core, ALICE)
    question = await practice_question(core, chat)
    await chat.say("an answer about the statistics question in a few words")
    async with core.db.read() as conn:
        stored = await conn.scalar(
            sa.select(rubrics.c.body).join(answers, answers.c.rubric_id == rubrics.c.id)
        )
    kept = Rubric.from_json(stored)
    assert kept.question.prompt == question.prompt
    assert kept.question.reference_answer == question.reference_answer
    assert [(kp.text, kp.weight) for kp in kept.key_points] == [
        (kp.text, kp.weight) for kp in question.key_points
    ]


async def test_a_pending_answer_grades_on_its_rubric_after_the_bank_changed(
    core: Core, clock: ManualClock
) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    down = FlakyGrader(FixedGrader(0))
    core.grading.grader = down
    chat = Chat(core, ALICE)
    question = await practice_question(core, chat)
    await chat.say("an answer given while the grader is down for a while")
    reword(core, question.id)
    marking = MarkingGrader(covered=1)
    core.grading.grader = marking
    clock.advance(timedelta(minutes=5))
    await core.grading.retry()
    await core.grading.drain()
    (request,) = marking.requests
    assert request.question.prompt == question.prompt
    assert request.rubric == tuple(question.key_points)
    # ... and the regrade grades the same way, not on today's v2 key points
    assert "Re-grading" in await chat.cmd("regrade")
    await core.grading.drain()
    assert marking.requests[-1].rubric == tuple(question.key_points)


async def test_follow_up_grades_on_the_missed_points_kept_when_it_was_asked(core: Core) -> None:
    """The bank splits and rewords the key points while a follow-up waits: the follow-up is
    still graded on the points the first answer missed, as they were."""
    core.grading.grader = MarkingGrader(covered=2)
    chat = await start(core, "statistics", "1")
    row = await session_row(core)
    qid = row.question_ids[0]
    q = core.bank.questions[qid]
    points = [KeyPoint(text=f"original point {i}") for i in range(4)]
    core.bank.questions[qid] = q.model_copy(update={"key_points": points, "follow_ups": ["Why?"]})
    marking = MarkingGrader(covered=2)
    core.grading.grader = marking
    out = await chat.say("a first answer that covers two of the four points")
    assert "5/10" in out and "Follow-up: Why?" in out
    reword(core, qid)
    out = await chat.say("the answer to the follow-up, covering one more")
    assert [kp.text for kp in marking.requests[-1].rubric] == [
        "original point 2",
        "original point 3",
    ]
    assert "scorecard" in out


async def test_resuming_a_mock_whose_questions_left_the_bank(core: Core) -> None:
    core.grading.grader = FixedGrader(8)
    chat = await start(core, "3")
    await chat.say("the answer to the first question of three")
    ids = (await session_row(core)).question_ids
    await core.mock.sessions.update((await session_row(core)).id, state="paused")
    del core.bank.questions[ids[1]]  # the current one
    out = await chat.say("resume")
    assert f"`{ids[1]}` is no longer in the question bank" in out and "Question 3/3" in out
    del core.bank.questions[ids[2]]
    out = await chat.say("an answer that will not be graded since the question is gone")
    assert "Question 3/3" not in out


async def test_advancing_past_removed_questions_ends_with_a_scorecard(core: Core) -> None:
    core.grading.grader = FixedGrader(8)
    chat = await start(core, "3")
    ids = (await session_row(core)).question_ids
    for gone in ids[1:]:
        del core.bank.questions[gone]
    out = await chat.say("the answer to the only question still in the bank")
    assert "passed over" in out and "scorecard (1 of 3" in out


async def test_regrade_of_a_removed_open_question_uses_its_rubric(core: Core) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    marking = MarkingGrader(covered=1)
    core.grading.grader = marking
    chat = Chat(core, ALICE)
    question = await practice_question(core, chat)
    await chat.say("an answer to a question that will be retired soon")
    del core.bank.questions[question.id]
    out = await chat.cmd("regrade")
    assert "Re-grading" in out and "Multiple-choice" not in out
    await core.grading.drain()
    assert marking.requests[-1].question.id == question.id and len(marking.requests) == 2
    history = await chat.cmd("history")
    assert question.id in history and "/10" in history


async def test_a_pending_answer_without_rubric_to_a_removed_question_is_void(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    """Rows from before rubrics were kept (the migration backfills those it can)."""
    await core.tenants.ensure_workspace(WS, "test")
    core.grading.grader = FlakyGrader(FixedGrader(5))
    chat = Chat(core, ALICE)
    question = await practice_question(core, chat)
    await chat.say("an answer stored before rubrics were kept with answers")
    async with core.db.write() as conn:
        await conn.execute(answers.update().values(rubric_id=None))
    del core.bank.questions[question.id]
    clock.advance(timedelta(minutes=5))
    await core.grading.retry()
    await core.grading.drain()
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(answers.c.status)) == "void"
    assert "cannot be graded" in adapter.private[-1][1]
    assert await core.store.answers.owed_a_grade(clock.now() + timedelta(days=1), 16, 10) == []
    assert "cannot be re-graded" in await chat.cmd("regrade")
    assert question.id in await chat.cmd("history")


async def test_cards_of_removed_questions_are_never_due(core: Core, clock: ManualClock) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    core.grading.grader = FixedGrader(2)
    chat = Chat(core, ALICE)
    question = await practice_question(core, chat)
    await chat.say("a weak answer that brings the question back tomorrow")
    clock.advance(timedelta(days=3))
    actor = Actor(WS, "alice")
    assert (await core.dashboard.stats(actor)).reviews_due == 1
    del core.bank.questions[question.id]
    assert (await core.dashboard.stats(actor)).reviews_due == 0
    assert (await core.dashboard.home(WS, "alice")).reviews_due == 0
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(reviews)) == 1
    assert "1 review card(s)" in await chat.cmd("export")


def test_a_stored_rubric_keeps_the_questions_misconceptions() -> None:
    """The LLM grader reads them from the rubric an answer keeps, so a later edit of the list
    never changes how a stored answer is re-graded; rubrics stored before the field existed
    read back with none."""
    question = next(q for q in load_bank([SHIPPED_PACKS]) if q.misconceptions)
    body = json.loads(json.dumps(Rubric.of(question).to_json()))  # a copy: to_json caches
    back = Rubric.from_json(body)
    assert back.question.misconceptions == question.misconceptions
    assert back.question.contradicted(back.question.misconceptions[0]).text == \
        question.contradicted(question.misconceptions[0]).text
    del body["question"]["misconceptions"]
    assert Rubric.from_json(body).question.misconceptions == []
