"""Self-check through the core: who may check what and when, the learner's score beside the
grader's, the review card replayed from before the answer, export, forget-me, the tally."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import Core
from bot.cli import main
from bot.clock import ManualClock
from bot.domain.reviews import next_card
from bot.grading.offline import OfflineGrader
from bot.store.tables import answers, grades, reviews, self_checks
from testing.fakes import FixedGrader, MarkingGrader, RecordingAdapter

from .test_core import ALICE, answer, first_daily, setup_channel
from .test_mock import DM, WS, Chat, start
from .test_rubric import practice_question


async def practised(core: Core, covered: int = 1) -> tuple[Chat, int]:
    """Alice answers a practice question; the grader covers the first `covered` points."""
    await core.tenants.ensure_workspace(WS, "test")
    core.grading.grader = MarkingGrader(covered=covered)
    chat = Chat(core, ALICE, DM)
    await practice_question(core, chat)
    await chat.say("my practice answer, in a handful of words about it")
    async with core.db.read() as conn:
        answer_id = await conn.scalar(sa.select(answers.c.id))
    return chat, int(answer_id)


async def one(core: Core, query: sa.Select) -> sa.Row:
    async with core.db.read() as conn:
        return (await conn.execute(query)).one()


async def test_feedback_numbers_the_key_points_and_a_check_recomputes(
    core: Core, adapter: RecordingAdapter
) -> None:
    chat, answer_id = await practised(core)
    _, text = adapter.private[-1]
    assert "1. [x]" in text and "2. [ ]" in text and "/drill check N" in text
    assert adapter.checks[-1][1].answer_id == answer_id
    graded = await one(core, sa.select(answers.c.score, grades.c.detail).join(grades))
    out = await chat.cmd("check 2 3")
    assert f"Self-checked answer #{answer_id}" in out and "the grader's" in out
    row = await one(core, sa.select(self_checks))
    assert row.grader_score == graded.score and row.score > graded.score
    assert [m["learner"] for m in row.marks][:3] == [1.0, 1.0, 1.0]
    assert [m["grader"] for m in row.marks][:3] == [1.0, 0.0, 0.0]
    after = await one(core, sa.select(answers.c.score, grades.c.detail).join(grades))
    assert tuple(after) == tuple(graded)  # the grader's grade stays as it was
    out = await chat.cmd(f"check #{answer_id} 3")  # flipping back is a toggle
    assert "3. [ ]" in out
    assert "does not exist" in await chat.cmd("check 9")
    assert "Its key points" in await chat.cmd("check")  # no number: the marks, shown


async def test_checks_close_after_24_hours(core: Core, clock: ManualClock) -> None:
    chat, _ = await practised(core)
    clock.advance(timedelta(hours=23, minutes=59))
    assert "Self-checked" in await chat.cmd("check 2")
    clock.advance(timedelta(minutes=2))
    assert "24 hours" in await chat.cmd("check 3")


async def test_floored_answers_cannot_be_checked(core: Core) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    core.grading.grader = OfflineGrader()
    chat = Chat(core, ALICE, DM)
    await practice_question(core, chat)
    await chat.say("idk")
    floored = await one(core, sa.select(answers.c.floor, answers.c.status))
    assert tuple(floored) == ("non_answer", "floored")  # stored, never graded
    assert "earned nothing" in await chat.cmd("check 1")


async def test_dailies_are_never_self_checked(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    core.grading.grader = MarkingGrader(covered=1)
    await answer(core, ALICE, thread, "a daily answer covering one of the points", "d1")
    points = (await one(core, sa.select(answers.c.points))).points
    assert "/drill check" not in adapter.private[-1][1] and not adapter.checks
    chat = Chat(core, ALICE)
    assert "`/drill regrade`" in await chat.cmd("check 1 2 3")
    assert (await one(core, sa.select(answers.c.points))).points == points
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(self_checks)) == 0


async def test_the_review_card_is_replayed_from_before_the_answer(
    core: Core, clock: ManualClock
) -> None:
    chat, answer_id = await practised(core, covered=0)  # 0/10: Again, due tomorrow
    graded_at = clock.now()
    card = await one(core, sa.select(reviews))
    assert card.answer_id == answer_id and card.last_score == 0
    clock.advance(timedelta(hours=5))  # the self-check comes later; the review does not move
    assert "Self-checked" in await chat.cmd("check 1 2 3")
    replayed = await one(core, sa.select(reviews))
    check = await one(core, sa.select(self_checks))
    expected, due = next_card(None, check.score, graded_at)
    assert (replayed.card, replayed.due, replayed.last_score) == (expected, due, check.score)
    assert replayed.reviewed_at == graded_at and due > card.due


async def test_a_later_review_is_not_overwritten_by_an_older_answers_check(
    core: Core, clock: ManualClock
) -> None:
    chat, first = await practised(core, covered=0)
    async with core.db.write() as conn:  # another answer moved the card since
        await conn.execute(reviews.update().values(answer_id=first + 1000))
    before = await one(core, sa.select(reviews))
    assert "Self-checked" in await chat.cmd("check 1")
    assert tuple(await one(core, sa.select(reviews))) == tuple(before)


async def test_mock_answers_are_checked_with_the_hint_cap(core: Core) -> None:
    core.grading.grader = FixedGrader(8)
    chat = await start(core, "statistics", "2")
    core.grading.grader = MarkingGrader(covered=0)
    await chat.say("hint")
    out = await chat.say("an answer after the hint that covers nothing at all")
    assert "1. [ ]" in out and "/drill check N" in out
    latest = await core.store.answers.latest(WS, "alice")
    assert latest is not None and latest.rubric is not None
    every = " ".join(str(n) for n in range(1, len(latest.rubric["key_points"]) + 1))
    out = await chat.cmd(f"check {every}")  # every point covered: 10, capped at 7
    row = await one(core, sa.select(self_checks))
    assert row.score == 7 and "7/10" in out


async def test_export_forget_me_and_the_eval_tally_cover_self_checks(
    core: Core, adapter: RecordingAdapter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chat, answer_id = await practised(core)
    await chat.cmd("check 2")
    await chat.cmd("export")
    data = json.loads(adapter.files[-1][2])
    assert [c["answer_id"] for c in data["self_checks"]] == [answer_id]
    report = await core.store.selfchecks.overrules()
    assert report.answers == {WS: 1} and report.points[0].to_covered == 1
    if core.db.is_sqlite:
        monkeypatch.setenv("DRILLBOT_DATABASE_URL", str(core.db.engine.url))
        argv = ["eval", "checks", "--json", str(tmp_path / "checks.json")]
        assert await asyncio.to_thread(main, argv) == 0  # the CLI runs its own event loop
        figures = json.loads((tmp_path / "checks.json").read_text())
        assert figures["answers"] == {WS: 1} and figures["key_points"][0]["to_covered"] == 1
    await chat.cmd("forget-me confirm")
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(self_checks)) == 0


async def test_after_a_regrade_the_replay_still_starts_before_the_answer(
    core: Core, clock: ManualClock
) -> None:
    chat, _ = await practised(core, covered=0)
    clock.advance(timedelta(minutes=10))
    assert "Re-grading" in await chat.cmd("regrade")  # reviews the card a second time
    await core.grading.drain()
    regraded = await one(core, sa.select(reviews))
    assert "Self-checked" in await chat.cmd("check 1 2 3")
    check = await one(core, sa.select(self_checks))
    expected, due = next_card(None, check.score, regraded.reviewed_at)
    assert tuple(await one(core, sa.select(reviews.c.card, reviews.c.due))) == (expected, due)
