"""A non-answer earns nothing (docs/design.md "Streaks and points"): the floors run once at
intake, before the cost guard, and are stored on the answer; a floored answer gets one line of
feedback, no grade, no unit, no points, no streak, no place on boards or in the reveal, and it
holds no answer slot. MCQ choices are never floored. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.domain.answers import Kind
from bot.domain.types import Actor
from bot.packs import Bank
from bot.store.db import Database
from tests.services.test_costs import BETTER, counting, rows, spent
from tests.services.test_intake import CH, TEXT

SHRUG = "no idea honestly \U0001f937"
BLANK = "\u200b\u200d \U0001f525\U0001f525 ..."
DAILY: list[Kind] = ["thread", "edit", "form", "line"]
ALL: list[Kind] = [*DAILY, "practice", "mock", "follow_up"]
BOB = Actor(CH.workspace_id, "bob", "Bob")


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("text", [SHRUG, BLANK, "dropout", "idk"])
async def test_a_floored_answer_is_stored_told_and_never_graded_or_charged(
    kind: Kind, text: str, db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting(kind, db, bank, clock)
    scene.core.quota.limit = 0  # the floors run first: a non-answer is stored whatever the budget
    before, units = len(await rows(scene.core)), await spent(scene.core)
    replies = await scene.deliver("shrug", text)
    assert len(replies) == 1 and "It earns nothing" in replies[0].text
    stored = (await rows(scene.core))[before:]
    assert [(r.status, r.score, r.points) for r in stored] == [("floored", None, None)]
    assert stored[0].floor in ("non_answer", "blank", "short")
    assert grader.calls == 0 and await spent(scene.core) == units
    assert scene.adapter.reactions == []


@pytest.mark.parametrize("kind", DAILY)
async def test_the_next_daily_answer_replaces_a_floored_one_at_its_own_send_time(
    kind: Kind, db: Database, bank: Bank, clock: ManualClock
) -> None:
    """A placeholder sent at once and replaced two hours later keeps no first-hour bonus."""
    scene, grader = await counting(kind, db, bank, clock)
    await scene.deliver("shrug", SHRUG, sent_at=clock.now())
    clock.advance(timedelta(hours=2))
    message = "msg-1" if kind == "edit" else "msg-2"  # an edit of it, or a new reply
    await scene.deliver("real", BETTER, message_id=message, sent_at=clock.now())
    [row] = await rows(scene.core)
    assert (row.text, row.floor, row.status) == (BETTER, None, "graded")
    assert row.answered_at == clock.now() and grader.calls == 1
    assert row.points == row.score + 0 + 1  # no early bonus; the streak starts at 1


async def test_an_edit_of_a_real_answer_keeps_its_time(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    """The contrast: a counted answer edited later keeps its first send time and bonus."""
    scene, _ = await counting("edit", db, bank, clock)
    await scene.deliver("first", TEXT, sent_at=clock.now())
    posted = clock.now()
    clock.advance(timedelta(hours=2))
    await scene.deliver("edited", BETTER, sent_at=clock.now())
    [row] = await rows(scene.core)
    assert row.answered_at == posted and row.points == row.score + 2 + 1


async def test_a_floored_reply_after_a_counted_answer_is_discussion(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, _ = await counting("thread", db, bank, clock)
    await scene.deliver("real", TEXT)
    assert await scene.deliver("shrug", SHRUG, message_id="msg-2") == []
    [row] = await rows(scene.core)
    assert row.text == TEXT and row.floor is None


async def test_a_floored_answer_counts_nowhere(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    """Alice only shrugs, Bob answers: the board, the streaks and the reveal know only Bob."""
    scene, _ = await counting("thread", db, bank, clock)
    core = scene.core
    await scene.deliver("alice", SHRUG)
    await scene.deliver("bob", BETTER, message_id="msg-b", actor=BOB)
    [board] = await scene.command("leaderboard workspace")
    assert "Bob" in board.text and "Alice" not in board.text
    assert (await core.dashboard.streak(CH, "alice")).current == 0
    assert (await core.dashboard.streak(CH, "bob")).current == 1
    await core.dailies.close_due(CH, force=True)
    [reveal] = scene.adapter.reveals
    assert reveal.answered == 1 and all(t.name != "Alice" for t in reveal.top)
    [history] = await scene.command("history")
    assert "not an answer, earns nothing" in history.text
    [regrade] = await scene.command("regrade")
    assert "not an answer yet" in regrade.text and await spent(core) == []


async def test_a_floored_practice_answer_leaves_the_question_waiting(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("practice", db, bank, clock)
    [told] = await scene.deliver("shrug", SHRUG)
    assert "the question still waits for your answer" in told.text
    await scene.deliver("real", BETTER)
    assert [r.floor for r in await rows(scene.core)] == ["non_answer", None]
    assert grader.calls == 1 and await spent(scene.core) == ["answer"]


@pytest.mark.parametrize("kind", ["mock", "follow_up"])
async def test_a_floored_mock_answer_does_not_move_the_session(
    kind: Kind, db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting(kind, db, bank, clock)
    before = await scene.core.mock.current(Actor(CH.workspace_id, "alice", "Alice"))
    await scene.deliver("shrug", SHRUG)
    after = await scene.core.mock.current(Actor(CH.workspace_id, "alice", "Alice"))
    assert before is not None and after is not None
    assert (after.position, after.follow_up) == (before.position, before.follow_up)
    replies = await scene.deliver("real", BETTER)
    assert grader.calls == 1 and any("/10" in r.text for r in replies)


async def test_an_mcq_choice_is_never_floored(db: Database, bank: Bank, clock: ManualClock) -> None:
    scene, _ = await counting("choice", db, bank, clock)
    await scene.deliver("click")
    [row] = await rows(scene.core)
    assert row.floor is None and row.status == "graded" and row.score in (0, 10)
