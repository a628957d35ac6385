"""The cost guard (docs/design.md "Grades"): each unit kind spends one unit and each free kind
none; over budget a practice or mock answer or a regrade is refused with the time the budget
frees up, and a daily replacement is kept, ungraded, with its earlier grade. Every test runs on
SQLite and, when configured, PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.costs import WINDOW, frees_at
from bot.domain.types import Actor, ChannelRef
from bot.grading.base import Grade, Grader, GradeRequest
from bot.grading.llm import LLMGrader
from bot.grading.offline import OfflineGrader
from bot.packs import Bank
from bot.services.coach import LLMCoach
from bot.store.db import Database
from bot.store.tables import answers, units
from testing.fake_openai import FakeModel
from testing.fakes import FixedGrader, FlakyGrader, RecordingAdapter
from tests.services.test_intake import ALICE, CH, DM, WS, Scene, scene_for
from tests.services.test_mock import Chat

BETTER = "A second answer about the topic with more words than the first had in it"


class Counting:
    """A grader that counts the grading requests it is given (the cost the guard bounds)."""

    name, version = "counting", "1"

    def __init__(self, inner: Grader) -> None:
        self.inner = inner
        self.calls = 0

    async def grade(self, request: GradeRequest) -> Grade:
        self.calls += 1
        return await self.inner.grade(request)


async def counting(
    kind: str, db: Database, bank: Bank, clock: ManualClock
) -> tuple[Scene, Counting]:
    scene = await scene_for(kind, db, bank, clock)  # type: ignore[arg-type]
    grader = Counting(scene.core.grading.grader)
    scene.core.grading.grader = grader
    return scene, grader


async def spent(core: Core) -> list[str]:
    async with core.db.read() as conn:
        return list((await conn.execute(sa.select(units.c.unit).order_by(units.c.id))).scalars())


async def rows(core: Core) -> list[sa.Row[object]]:
    async with core.db.read() as conn:
        return list((await conn.execute(sa.select(answers).order_by(answers.c.id))).all())


@pytest.fixture
async def fake_llm() -> AsyncIterator[tuple[FakeModel, LLMGrader]]:
    model = FakeModel()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, openai_base_url="http://fake.local/v1", llm_max_retries=0
    )
    grader = LLMGrader.from_settings(settings, http_client=model.http_client())
    yield model, grader
    await grader.aclose()


# -- daily replacements --------------------------------------------------------------------


async def test_fifty_form_resubmissions_with_a_limit_of_three(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    """The first answer and two replacements are free; three more are paid for; the rest are
    kept, ungraded, and the earlier grade stands."""
    scene, grader = await counting("form", db, bank, clock)
    scene.core.quota.limit = 3
    replies = [await scene.deliver(f"form-{i}", f"{BETTER} (version {i})") for i in range(50)]
    assert grader.calls == 3 + 3
    assert await spent(scene.core) == ["replacement"] * 3
    [row] = await rows(scene.core)
    assert row.text.endswith("(version 5)") and row.status == "graded" and row.score == 8
    assert row.held_text.endswith("(version 49)") and row.counted_texts == 6
    held = replies[6][0].text
    assert "saved, but not graded: your earlier grade stands" in held
    assert "from 2026-11-24 08:00 UTC (in 24 h 0 min)" in held


async def test_fifty_concurrent_form_resubmissions_stay_within_the_budget(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("form", db, bank, clock)
    scene.core.quota.limit = 3
    await scene.deliver("form-first", BETTER)
    await asyncio.gather(*(scene.deliver(f"form-{i}", f"{BETTER} {i}") for i in range(50)))
    await scene.core.grading.drain()
    assert len(await spent(scene.core)) == 3
    assert grader.calls <= 3 + 3
    assert len(await rows(scene.core)) == 1


async def test_two_processes_on_one_database_share_one_budget(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    """Two cores (as two processes would: separate group commits, concurrent transactions)
    take form resubmissions at once: the budget still holds (PostgreSQL: the budget lock)."""
    scene, grader = await counting("form", db, bank, clock)
    other = build_core(db=db, bank=scene.core.bank, grader=grader, clock=clock)
    other.platforms.attach(RecordingAdapter())
    scene.core.quota.limit = other.quota.limit = 3
    await scene.deliver("form-first", BETTER)
    second = Scene(other, scene.adapter, "form", daily_id=scene.daily_id)
    await asyncio.gather(
        *(
            s.deliver(f"form-{s is second}-{i}", f"{BETTER} {i}")
            for i in range(25)
            for s in (scene, second)
        )
    )
    await other.grading.drain()
    assert len(await spent(scene.core)) == 3
    assert grader.calls <= 3 + 3


async def test_thread_edits_beyond_the_free_two_spend_units(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("edit", db, bank, clock)
    scene.core.quota.limit = 2
    for i in range(10):
        await scene.deliver(f"edit-{i}", f"{BETTER} edit {i}")
    assert await spent(scene.core) == ["replacement"] * 2
    assert grader.calls == 3 + 2
    [row] = await rows(scene.core)
    assert row.text.endswith("edit 4") and row.held_text.endswith("edit 9")
    scene.core.quota.limit = 3  # room for one more: the next edit is graded again
    await scene.deliver("edit-later", f"{BETTER} edit later")
    [row] = await rows(scene.core)
    assert row.text.endswith("edit later") and row.held_text is None
    assert grader.calls == 6


@pytest.mark.parametrize("kind", ["thread", "line", "choice"])
async def test_a_daily_answer_that_replaces_nothing_is_free(
    kind: str, db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, _ = await counting(kind, db, bank, clock)
    scene.core.quota.limit = 1
    await scene.deliver("first")
    await scene.deliver("second", BETTER, message_id="msg-2")  # discussion, or a second click
    assert await spent(scene.core) == []


async def test_a_late_answer_is_free(db: Database, bank: Bank, clock: ManualClock) -> None:
    scene, grader = await counting("thread", db, bank, clock)
    scene.core.quota.limit = 1
    clock.advance(timedelta(days=2))
    await scene.deliver("late")
    [row] = await rows(scene.core)
    assert row.kind == "late" and grader.calls == 1 and await spent(scene.core) == []


# -- practice, mock, follow-up, regrade ----------------------------------------------------


async def test_practice_answer_spends_a_unit_and_over_budget_is_refused_with_the_time(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("practice", db, bank, clock)
    scene.core.quota.limit = 2
    await scene.deliver("p1")
    await scene.prepare()
    await scene.deliver("p2")
    await scene.prepare()  # refused already: the budget is spent
    assert await spent(scene.core) == ["answer", "answer"] and grader.calls == 2
    clock.advance(timedelta(hours=3))
    [refused] = await scene.command("practice")
    assert "from 2026-11-24 08:00 UTC (in 21 h 0 min)" in refused.text
    clock.advance(WINDOW - timedelta(hours=3))
    await scene.prepare()
    await scene.deliver("p3")
    assert await spent(scene.core) == ["answer"] * 3 and grader.calls == 3


async def test_practice_answer_over_budget_keeps_the_question_waiting(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("practice", db, bank, clock)  # a question waits
    scene.core.quota.limit = 0
    [refused] = await scene.deliver("over")
    assert "Your question still waits" in refused.text
    assert await rows(scene.core) == [] and grader.calls == 0
    scene.core.quota.limit = 1
    await scene.deliver("later")
    assert len(await rows(scene.core)) == 1 and grader.calls == 1


async def test_mock_and_follow_up_answers_spend_their_units(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("follow_up", db, bank, clock)  # a mock answer got a follow-up
    await scene.deliver("the-follow-up-answer")
    assert await spent(scene.core) == ["answer", "follow_up"] and grader.calls == 1


async def test_mock_answer_over_budget_is_refused_and_the_session_waits(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("mock", db, bank, clock)
    scene.core.quota.limit = 0
    [refused] = await scene.deliver("over")
    assert "used your 0 graded requests" in refused.text and grader.calls == 0
    scene.core.quota.limit = 5
    replies = await scene.deliver("now")
    assert any("Question 2/" in r.text for r in replies)


async def test_regrade_spends_a_unit_and_over_budget_is_refused(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, grader = await counting("thread", db, bank, clock)
    await scene.deliver("answer")
    scene.core.quota.limit = 0
    [refused] = await scene.command("regrade")
    assert "used your 0 graded requests" in refused.text
    [row] = await rows(scene.core)
    assert not row.regrade_used and grader.calls == 1
    scene.core.quota.limit = 1
    [ok] = await scene.command("regrade")
    await scene.core.grading.drain()
    assert "Re-grading" in ok.text and grader.calls == 2
    assert await spent(scene.core) == ["regrade"]
    [again] = await scene.command("regrade")
    assert "already re-graded" in again.text and await spent(scene.core) == ["regrade"]
    export = await scene.core.store.boards.export(WS, ALICE.user_id)
    assert [u["unit"] for u in export["units"]] == ["regrade"]  # the ledger is the user's data


# -- LLM generations -----------------------------------------------------------------------


async def test_a_hundred_llm_hints_are_capped_by_the_budget(
    db: Database, bank: Bank, clock: ManualClock, fake_llm: tuple[FakeModel, LLMGrader]
) -> None:
    model, llm = fake_llm
    scene, _ = await counting("mock", db, bank, clock)
    scene.core.mock.coach = LLMCoach(llm)
    scene.core.quota.limit = 3
    hints = [(await scene.command("mock hint"))[0].text for _ in range(100)]
    assert len(model.requests) == 3 and await spent(scene.core) == ["hint"] * 3
    assert all("at most 7" in h for h in hints)  # over budget, the offline hint stands in
    assert "a strong answer also says something about" in hints[-1]


async def test_an_llm_follow_up_question_spends_a_unit_and_the_pack_stands_in_over_budget(
    db: Database, bank: Bank, clock: ManualClock, fake_llm: tuple[FakeModel, LLMGrader]
) -> None:
    model, llm = fake_llm
    scene = await scene_for("mock", db, bank, clock)
    scene.core.grading.grader = Counting(FixedGrader(5))
    scene.core.mock.coach = LLMCoach(llm)
    scene.core.quota.limit = 2
    first = await scene.deliver("partial")  # a unit for the answer, one for the question
    assert any(r.text.startswith("Follow-up:") for r in first)
    assert await spent(scene.core) == ["answer", "question"] and len(model.requests) == 1


async def test_offline_hints_are_free(db: Database, bank: Bank, clock: ManualClock) -> None:
    scene, _ = await counting("mock", db, bank, clock)
    scene.core.quota.limit = 1
    for _ in range(5):
        [hint] = await scene.command("mock hint")
        assert "Hint:" in hint.text
    assert await spent(scene.core) == []


# -- system work is free -------------------------------------------------------------------


async def test_provisional_to_final_regrades_are_free(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, _ = await counting("practice", db, bank, clock)
    flaky = FlakyGrader(scene.core.grading.grader)
    scene.core.grading.grader, scene.core.grading.fallback = flaky, OfflineGrader()
    await scene.deliver("p1")
    [row] = await rows(scene.core)
    assert row.status == "provisional"
    flaky.fail = False
    clock.advance(timedelta(minutes=5))
    await scene.core.grading.retry()
    await scene.core.grading.drain()
    [row] = await rows(scene.core)
    assert row.status == "graded" and await spent(scene.core) == ["answer"]


async def test_a_repair_call_is_part_of_its_answer_unit(
    db: Database, bank: Bank, clock: ManualClock, fake_llm: tuple[FakeModel, LLMGrader]
) -> None:
    model, llm = fake_llm
    scene = await scene_for("practice", db, bank, clock)
    scene.core.grading.grader = llm
    model.script = ["malformed"]  # the first reply is invalid: one repair call follows
    await scene.deliver("p1")
    assert len(model.requests) == 2 and await spent(scene.core) == ["answer"]


# -- one budget per user per platform ------------------------------------------------------


async def test_one_budget_per_user_across_a_platforms_workspaces(
    db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene, _ = await counting("practice", db, bank, clock)  # workspace T1, platform "test"
    core = scene.core
    await core.tenants.ensure_workspace("T2", "test")
    await core.tenants.ensure_workspace("G9", "other")
    core.quota.limit = 1
    await scene.deliver("p1")
    same_platform = Chat(core, Actor("T2", ALICE.user_id, "Alice"), ChannelRef("T2", "D-a"))
    assert "used your 1 graded requests" in await same_platform.cmd("practice")
    other_platform = Chat(core, Actor("G9", ALICE.user_id, "Alice"), ChannelRef("G9", "D-a"))
    assert "Practice [" in await other_platform.cmd("practice")
    bob = Chat(core, Actor(WS, "bob", "Bob"), DM)
    assert "Practice [" in await bob.cmd("practice")
    assert CH.workspace_id == WS


def test_frees_at_is_when_enough_of_the_oldest_units_leave_the_window(clock: ManualClock) -> None:
    now = clock.now()
    spent_at = [now - timedelta(hours=h) for h in (1, 5, 20)]
    assert frees_at(spent_at, 3, now) == now + timedelta(hours=4)
    assert frees_at(spent_at, 2, now) == now + timedelta(hours=19)
    assert frees_at(spent_at, 4, now) == now
