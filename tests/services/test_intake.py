"""One intake pipeline: every kind of answer passes it once; dedupe and quota apply to each kind
as its policy row says (`bot.domain.answers.POLICIES`)."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import datetime

import pytest
import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.domain.answers import POLICIES, Kind, check_text
from bot.domain.types import Actor, ChannelRef, Reply
from bot.packs import Bank
from bot.store.db import Database
from bot.store.tables import answers
from testing.fakes import FixedGrader, RecordingAdapter

WS = "T1"
CH = ChannelRef(WS, "C1")
DM = ChannelRef(WS, "D-alice")
ALICE = Actor(WS, "alice", "Alice")
ADMIN = Actor(WS, "boss", "Boss", is_admin=True)
TEXT = "An answer about the topic with several words in it"
KINDS: list[Kind] = list(POLICIES)
DAILY_KINDS = [k for k in KINDS if k not in ("practice", "mock", "follow_up")]


@dataclass
class Scene:
    """A core set up so that one answer of `kind` can be delivered."""

    core: Core
    adapter: RecordingAdapter
    kind: Kind
    daily_id: int = 0
    thread: str = ""
    letter: str = "A"
    commands: itertools.count[int] = dataclasses.field(default_factory=itertools.count)

    async def prepare(self) -> None:
        """Make the next answer of this kind possible (a waiting practice question, a mock
        interview at a question or a follow-up); daily kinds need nothing more."""
        if self.kind == "practice":
            await self.command("practice")
        elif self.kind in ("mock", "follow_up"):
            await self.command("mock 3")
            if self.kind == "follow_up":  # a partial grade (5) earns a follow-up
                [_, follow_up] = await self.deliver("first-answer")
                assert follow_up.text.startswith("Follow-up:")

    async def command(self, text: str) -> list[Reply]:
        return await self.core.commands.handle(
            event_key=f"cmd-{next(self.commands)}", actor=ALICE, channel=DM, text=text
        )

    async def deliver(
        self,
        key: str,
        text: str = TEXT,
        *,
        message_id: str = "msg-1",
        sent_at: datetime | None = None,
        actor: Actor = ALICE,
    ) -> list[Reply]:
        """One answer of this scene's kind (`text`; a thread reply's or edit's message id and
        send time)."""
        inbound = self.core.inbound
        if self.kind in ("thread", "edit"):
            replies = await inbound.on_thread_message(
                event_key=key,
                actor=actor,
                channel=CH,
                thread_id=self.thread,
                text=text,
                message_id=message_id,
                edited=self.kind == "edit",
                sent_at=sent_at,
            )
        elif self.kind in ("form", "choice"):
            replies = await inbound.on_private_answer(
                event_key=key,
                actor=actor,
                daily_id=self.daily_id,
                text=self.letter if self.kind == "choice" else text,
                choice=self.kind == "choice",
            )
        else:
            channel = CH if self.kind == "line" else DM
            replies = await inbound.on_loose_message(
                event_key=key, actor=actor, channel=channel, text=text
            )
        await self.core.grading.drain()
        return replies


async def scene_for(kind: Kind, db: Database, bank: Bank, clock: ManualClock) -> Scene:
    wanted = "mcq" if kind == "choice" else "open"
    questions = Bank({q.id: q for q in bank if q.type == wanted}, bank.topics)
    adapter = RecordingAdapter()
    core = build_core(
        db=db,
        bank=questions,
        grader=FixedGrader(5 if kind == "follow_up" else 8),
        clock=clock,
    )
    core.platforms.attach(adapter)
    await core.tenants.ensure_workspace(WS, "test")
    await core.tenants.ensure_channel(CH, name="c1", cron=None)
    scene = Scene(core, adapter, kind)
    if kind in DAILY_KINDS:
        daily = await core.dailies.post_now(CH)
        assert daily is not None
        scene.daily_id = daily.id
        scene.thread = adapter.sent_keys[adapter.posts[-1].key]
        scene.letter = adapter.posts[-1].question.answer or "A"
    await scene.prepare()
    return scene


async def stored(core: Core) -> int:
    async with core.db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(answers)) or 0)


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_passes_the_pipeline_once(
    kind: Kind, db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene = await scene_for(kind, db, bank, clock)
    before, rows = dict(scene.core.intake.passes), await stored(scene.core)
    await scene.deliver("the-answer")
    after = scene.core.intake.passes
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        kind: 1
    }
    assert await stored(scene.core) == rows + 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_redelivered_event_stores_nothing_twice(
    kind: Kind, db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene = await scene_for(kind, db, bank, clock)
    rows = await stored(scene.core)
    await scene.deliver("same-event")
    if kind == "practice":
        await scene.prepare()  # a new question waits: only the event key can refuse it now
    assert await scene.deliver("same-event") == []
    assert await stored(scene.core) == rows + 1


@pytest.mark.parametrize("kind", KINDS)
async def test_the_cost_guard_applies_to_every_kind_as_its_policy_says(
    kind: Kind, db: Database, bank: Bank, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no budget, a kind whose policy spends a unit on its first text is refused and
    nothing is stored; the shipped daily kinds give their first text free."""
    scene = await scene_for(kind, db, bank, clock)
    monkeypatch.setitem(POLICIES, kind, dataclasses.replace(POLICIES[kind], unit="answer", free=0))
    scene.core.quota.limit = 0
    rows = await stored(scene.core)
    if kind in DAILY_KINDS:  # a daily's slot is taken by its first answer: never charged
        assert await scene.deliver("first-answer-free") is not None
        assert await stored(scene.core) == rows + 1
        return
    [refusal] = await scene.deliver("over-budget")
    assert "used your 0 graded requests" in refusal.text
    assert await stored(scene.core) == rows


@pytest.mark.parametrize("kind", DAILY_KINDS)
async def test_a_daily_first_answer_is_free(
    kind: Kind, db: Database, bank: Bank, clock: ManualClock
) -> None:
    scene = await scene_for(kind, db, bank, clock)
    scene.core.quota.limit = 0
    rows = await stored(scene.core)
    await scene.deliver("a-daily-answer")
    assert await stored(scene.core) == rows + 1


def test_the_floors_are_one_pure_check(bank: Bank) -> None:
    open_q = next(q for q in bank if q.type == "open")
    mcq = next(q for q in bank if q.type == "mcq")
    assert check_text(open_q, "  an answer  ").text == "an answer"
    assert check_text(open_q, "x" * 4001).refusal is not None
    assert check_text(mcq, f"{mcq.letters[0].lower()})").text == mcq.letters[0]
    assert check_text(mcq, "maybe").refusal is not None
    assert check_text(open_q, "idk").floor == "non_answer"
    assert check_text(open_q, TEXT).floor is None
    assert check_text(mcq, "?").refusal is not None  # an MCQ takes a letter, never a floor
