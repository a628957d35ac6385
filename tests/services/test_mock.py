"""Mock interviews, spaced repetition, stats and export, through the core."""

from __future__ import annotations

import asyncio
import json
import struct
from datetime import timedelta

import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.reviews import SCHEDULER, rating
from bot.domain.types import Actor, ChannelRef, Reply
from bot.grading.llm import LLMGrader
from bot.services.coach import LLMCoach
from bot.store.tables import answers, mock_sessions, reviews
from testing.fake_openai import FakeModel, FakeOpenAIServer
from testing.fakes import FixedGrader, RecordingAdapter

WS = "T1"
DM = ChannelRef(WS, "D-alice")
ALICE = Actor(WS, "alice", "Alice")
BOB = Actor(WS, "bob", "Bob")


class Chat:
    """One user typing in a DM: commands and plain lines, each with a fresh event key."""

    def __init__(self, core: Core, actor: Actor, channel: ChannelRef = DM) -> None:
        self.core, self.actor, self.channel = core, actor, channel
        self.commands = core.commands
        self.n = 0

    def _key(self) -> str:
        self.n += 1
        return f"{self.actor.user_id}-{self.n}"

    async def cmd(self, text: str) -> str:
        replies = await self.commands.handle(
            event_key=self._key(), actor=self.actor, channel=self.channel, text=text
        )
        return "\n".join(r.text for r in replies)

    async def say(self, text: str) -> str:
        replies: list[Reply] = await self.core.inbound.on_loose_message(
            event_key=self._key(), actor=self.actor, channel=self.channel, text=text
        )
        await self.core.grading.drain()
        return "\n".join(r.text for r in replies)


async def start(core: Core, *args: str) -> Chat:
    await core.tenants.ensure_workspace(WS, "test")
    chat = Chat(core, ALICE)
    out = await chat.cmd("mock " + " ".join(args))
    assert "Question 1/" in out, out
    return chat


async def session_row(core: Core) -> sa.Row:
    async with core.db.read() as conn:
        return (await conn.execute(sa.select(mock_sessions).order_by(mock_sessions.c.id))).all()[-1]


async def test_full_session_with_follow_up_hint_skip_and_scorecard(core: Core) -> None:
    grader = FixedGrader(5)
    core.grading.grader = grader
    chat = await start(core, "statistics", "3")
    out = await chat.say("a partial answer that covers some of the ground")
    assert "5/10" in out and "Follow-up:" in out  # partial -> one follow-up from the pack
    grader.score = 9
    out = await chat.say("the deeper answer to the follow-up question")
    assert "9/10" in out and "Question 2/3" in out
    hint = await chat.say("hint")
    assert hint.startswith("Hint:") and "at most 7" in hint
    out = await chat.say("an answer after a hint that would have scored high")
    assert "7/10" in out and "Question 3/3" in out  # capped by the hint, no follow-up at 7
    out = await chat.say("skip")
    assert "Skipped." in out and "scorecard (3 of 3" in out
    assert "follow-up 9/10" in out and "(hint)" in out and "skipped" in out
    assert "`/drill mock again`" in out
    assert (await session_row(core)).state == "finished"
    assert "No question is open" in await chat.say("a line after the session")


async def test_commands_in_every_state(core: Core, clock: ManualClock) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    chat = Chat(core, ALICE)
    for word in ("hint", "skip", "stop", "resume"):  # no session
        assert "No mock interview in progress" in await chat.cmd(f"mock {word}")
    await chat.cmd("mock 2")
    assert "in progress" in await chat.cmd("mock")  # active: no second session
    assert "Resuming" in await chat.cmd("mock resume")  # active: resume re-asks
    clock.advance(timedelta(minutes=31))
    assert "No question is open" in await chat.say("typed long after, to the channel")
    assert (await session_row(core)).state == "paused"
    assert "in progress" in await chat.cmd("mock")  # paused: no second session either
    out = await chat.say("resume")
    assert "Resuming" in out and "Question 1/2" in out
    assert "Skipped." in await chat.cmd("mock skip")
    assert "scorecard (1 of 2" in await chat.cmd("mock stop")
    assert "No mock interview in progress" in await chat.cmd("mock stop")
    assert "Question 1/2" in await chat.cmd("mock again")


async def test_session_survives_a_restart(core: Core, adapter: RecordingAdapter) -> None:
    core.grading.grader = FixedGrader(8)  # good: no follow-up, so the next question
    chat = await start(core, "2")
    await chat.say("a first answer to question one with words")
    assert (await session_row(core)).position == 1
    reborn = build_core(db=core.db, bank=core.bank, grader=FixedGrader(8), clock=core.clock)
    reborn.platforms.attach(adapter)
    again = Chat(reborn, ALICE)
    again.n = chat.n  # the same user's later messages carry new event ids
    assert "Question 2/2" in await again.say("resume")
    assert "scorecard (2 of 2" in await again.say("the answer to question two")


async def test_two_users_never_share_state(core: Core) -> None:
    core.grading.grader = FixedGrader(8)
    await core.tenants.ensure_workspace(WS, "test")
    alice, bob = Chat(core, ALICE), Chat(core, BOB, ChannelRef(WS, "D-bob"))
    await asyncio.gather(alice.cmd("mock 2"), bob.cmd("mock 3"))
    a, b = await asyncio.gather(
        alice.say("alice answers question one"), bob.say("bob answers question one")
    )
    assert "Question 2/2" in a and "Question 2/3" in b
    assert "scorecard (1 of 2" in await alice.say("stop")
    assert "Question 3/3" in await bob.say("bob answers question two")


async def test_fsrs_schedules_weak_questions_back_first(core: Core, clock: ManualClock) -> None:
    core.grading.grader = FixedGrader(2)
    chat = await start(core, "coding", "1")
    out = await chat.say("a weak answer to the coding question")
    qid = out.split("`")[1]
    async with core.db.read() as conn:
        card = (await conn.execute(sa.select(reviews))).one()
    assert card.question_id == qid and card.last_score == 2
    assert card.due == clock.now() + timedelta(days=1)  # Again: back tomorrow
    assert "1 review(s) due" not in await chat.cmd("stats")
    clock.advance(timedelta(days=1, minutes=1))
    assert "1 review(s) due now" in await chat.cmd("stats")
    practice = await chat.cmd("practice")
    assert core.bank.get(qid).prompt in practice  # the due review comes first


def test_score_to_rating() -> None:
    assert [rating(s).name for s in (0, 3, 4, 6, 7, 8, 9, 10)] == [
        "Again",
        "Again",
        "Hard",
        "Hard",
        "Good",
        "Good",
        "Easy",
        "Easy",
    ]
    assert SCHEDULER.enable_fuzzing is False


async def test_stats_png_and_export_only_own_rows(core: Core, adapter: RecordingAdapter) -> None:
    core.grading.grader = FixedGrader(8)
    chat = await start(core, "llm", "1")
    await chat.say("my answer about the llm question")
    other = Chat(core, Actor("T2", "alice", "Alice elsewhere"), ChannelRef("T2", "D"))
    await core.tenants.ensure_workspace("T2", "test")
    await other.cmd("mock 1")
    await other.say("an answer in another workspace")
    out = await chat.cmd("stats")
    assert "llm: 8.0/10 over 1 question(s)" in out
    user, name, png = adapter.files[-1]
    assert user == "alice" and name.endswith(".png") and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1000, 400)
    await chat.cmd("export")
    data = json.loads(adapter.files[-1][2])
    assert data["workspace_id"] == WS and len(data["answers"]) == 1
    assert {a["user_id"] for a in data["answers"]} == {"alice"}
    assert data["answers"][0]["grade"]["score"] == 8 and len(data["reviews"]) == 1


async def test_forget_me_leaves_no_row_of_the_user(core: Core) -> None:
    chat = await start(core, "2")
    await chat.say("an answer that will be forgotten")
    await chat.cmd("forget-me confirm")
    async with core.db.read() as conn:
        for table in ("answers", "reviews", "mock_sessions", "users", "practice"):
            column = "id" if table == "users" else "user_id"
            n = await conn.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {column}='alice'"))
            assert n == 0, table
        assert await conn.scalar(sa.text("SELECT count(*) FROM mock_items")) == 0
        assert await conn.scalar(sa.select(sa.func.count()).select_from(answers)) == 0


async def test_mock_parser_and_cost_guard(core: Core) -> None:
    await core.tenants.ensure_workspace(WS, "test")
    chat = Chat(core, ALICE)
    assert "1 to 10 questions" in await chat.cmd("mock 50")
    assert "Unknown topic 'astrology'" in await chat.cmd("mock astrology")
    assert "Question 1/2 [backend · hard]" in await chat.cmd("mock n=2 hard backend")
    core.quota.limit = 1
    await chat.cmd("mock stop")
    assert "Question 1/1" in await chat.cmd("mock 3")  # trimmed to what the guard allows
    await chat.say("an answer that uses up the daily allowance")
    assert "used your 1 graded requests" in await chat.cmd("mock 3")
    assert "used your 1 graded requests" in await chat.cmd("practice")


async def test_follow_up_and_hint_written_by_the_llm_with_offline_fallback(
    core: Core,
) -> None:
    model = FakeModel("normal")
    server = FakeOpenAIServer(model)
    url = await server.start()
    llm = LLMGrader.from_settings(
        Settings(_env_file=None, OPENAI_BASE_URL=url, DRILLBOT_LLM_MAX_RETRIES=0)
    )
    try:
        core.grading.grader = FixedGrader(5)
        core.mock.coach = LLMCoach(llm)
        chat = await start(core, "2")
        hint = await chat.say("hint")
        assert "Which part of the question would you explain next" in hint  # the model's text
        out = await chat.say("a partial answer with some of the key ideas in it")
        assert "Follow-up: Which part of the question would you explain next" in out
        model.mode = "500"  # the endpoint goes down: the pack's own follow-up stands in
        await chat.say("the answer to the follow-up")
        out = await chat.say("another partial answer to the second question")
        question = core.bank.get((await session_row(core)).question_ids[1])
        assert f"Follow-up: {question.follow_ups[0]}" in out
        assert len(model.requests) == 3  # hint, follow-up, and the failed follow-up
    finally:
        await llm.aclose()
        await server.stop()


async def test_two_quick_lines_answer_one_question_each(core: Core) -> None:
    core.grading.grader = FixedGrader(8)
    chat = await start(core, "3")
    first, second = await asyncio.gather(
        chat.say("my answer to the first one"), chat.say("my answer to the second one")
    )
    assert "Question 2/3" in first + second and "Question 3/3" in first + second
    async with core.db.read() as conn:
        rows = (await conn.execute(sa.select(answers.c.question_id))).scalars().all()
    assert len(rows) == 2 and len(set(rows)) == 2
