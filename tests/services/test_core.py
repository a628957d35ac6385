"""The daily lifecycle through the core, with an injected clock, on every database backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.domain.types import Actor, ChannelRef, DailyPost, Reveal
from bot.grading.offline import OfflineGrader
from bot.packs import Bank
from bot.services.commands import Commands
from bot.store.db import Database
from bot.store.tables import answers, dailies, grades, practice
from testing.fakes import FixedGrader, FlakyGrader, RecordingAdapter

WS = "T1"
CH = ChannelRef(WS, "C1")
ALICE = Actor(WS, "alice", "Alice")
BOB = Actor(WS, "bob", "Bob")
ADMIN = Actor(WS, "boss", "Boss")


async def setup_channel(
    core: Core, cron: str = "0 9 * * MON-FRI", tz: str = "UTC", ref: ChannelRef = CH
) -> None:
    await core.tenants.ensure_workspace(ref.workspace_id, "test", timezone=tz)
    await core.tenants.ensure_channel(ref, name=ref.channel_id, cron=cron, timezone=tz)


async def first_daily(core: Core, clock: ManualClock, adapter: RecordingAdapter) -> str:
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    assert len(adapter.posts) == 1
    return adapter.sent_keys[adapter.posts[-1].key]


async def answer(
    core: Core,
    actor: Actor,
    thread: str,
    text: str,
    key: str,
    edited: bool = False,
    message_id: str | None = None,
) -> None:
    await core.inbound.on_thread_message(
        event_key=key,
        actor=actor,
        channel=CH,
        thread_id=thread,
        text=text,
        message_id=message_id or key,
        edited=edited,
    )
    await core.grading.drain()


async def count(core: Core, table: sa.Table) -> int:
    async with core.db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def strong_answer(core: Core, question_id: str) -> str:
    q = core.bank.get(question_id)
    assert q is not None
    return q.reference_answer or (q.answer or "A")


async def test_tick_posts_each_slot_once(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    clock.set(datetime(2026, 11, 23, 8, 59, tzinfo=UTC))
    await core.tick.run()
    assert adapter.posts == []
    await first_daily(core, clock, adapter)
    for _ in range(3):
        clock.advance(timedelta(seconds=30))
        await core.tick.run()
    assert len(adapter.posts) == 1
    await asyncio.gather(core.tick.run(), core.tick.run(), core.tick.run())
    assert await count(core, dailies) == 1


async def test_weekend_has_no_slot(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    clock.set(datetime(2026, 11, 21, 9, 1, tzinfo=UTC))  # a Saturday
    await core.tick.run()
    assert adapter.posts == []


async def test_restart_catch_up_inside_window_and_skip_outside(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core, cron="0 9 * * *")
    # Bot "down" from before 09:00 until 11:30: within the 3 h catch-up, posted once.
    clock.set(datetime(2026, 11, 22, 11, 30, tzinfo=UTC))
    await core.tenants.ensure_channel(CH)  # no change: the channel exists
    async with core.db.write() as conn:
        await conn.execute(
            sa.text("UPDATE channels SET schedule_since = :t"), {"t": datetime(2026, 11, 20, 0, 0)}
        )
    await core.tick.run()
    assert [p.closes_at.date().isoformat() for p in adapter.posts] == ["2026-11-23"]
    # Down past the window the next day: 09:00 slot skipped at 12:30, nothing posted.
    clock.set(datetime(2026, 11, 23, 12, 30, tzinfo=UTC))
    await core.tick.run()
    assert len(adapter.posts) == 1


async def test_dst_day_posts_at_local_time(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core, cron="30 2 * * *", tz="Europe/Berlin")
    async with core.db.write() as conn:
        await conn.execute(
            sa.text("UPDATE channels SET schedule_since = :t"), {"t": datetime(2026, 3, 28, 0, 0)}
        )
    clock.set(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    await core.tick.run()
    assert adapter.posts == []
    clock.set(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST, the first valid minute
    await core.tick.run()
    assert len(adapter.posts) == 1


async def test_unconfirmed_post_is_found_not_resent(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    adapter.fail_next_post = True
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(dailies.c.status)) == "reserved"
    clock.advance(timedelta(seconds=30))
    await core.tick.run()  # its send lease is fresh: nobody touches it yet
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(dailies.c.status)) == "reserved"
    clock.advance(timedelta(minutes=2))
    await core.tick.run()
    assert len(adapter.posts) == 1  # found on the platform, confirmed, not sent again
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(dailies.c.status)) == "posted"


async def test_answer_graded_feedback_and_reaction(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    qid = adapter.posts[0].question.id
    clock.advance(timedelta(minutes=5))
    await answer(core, ALICE, thread, strong_answer(core, qid), "e1")
    user, text = adapter.private[-1]
    assert user == "alice" and "/10" in text and "early" in text
    assert adapter.reactions and adapter.reactions[0][0] == "e1"
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
    assert row.status == "graded" and row.score is not None and row.points == row.score + 2 + 1


async def test_duplicate_and_concurrent_deliveries_give_one_answer(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await asyncio.gather(
        *(
            core.inbound.on_thread_message(
                event_key="dup",
                actor=ALICE,
                channel=CH,
                thread_id=thread,
                text="Some answer about the topic with enough words",
                message_id="dup",
            )
            for _ in range(5)
        )
    )
    await core.grading.drain()
    await answer(core, ALICE, thread, "Some answer about the topic with enough words", "dup")
    assert await count(core, answers) == 1
    assert len(adapter.private) == 1


async def test_first_reply_counts_later_ones_are_discussion(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "My first answer has a few words in it", "e1")
    await answer(core, ALICE, thread, "and a second thought as discussion only", "e2")
    async with core.db.read() as conn:
        texts = (await conn.execute(sa.select(answers.c.text))).scalars().all()
    assert texts == ["My first answer has a few words in it"]


async def test_edit_before_close_regrades_after_close_does_not(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    qid = adapter.posts[0].question.id
    await answer(core, ALICE, thread, "I am not sure what this is about at all", "m1")
    async with core.db.read() as conn:
        weak = await conn.scalar(sa.select(answers.c.score))
    await answer(
        core, ALICE, thread, strong_answer(core, qid), "m1@edit1", edited=True, message_id="m1"
    )
    async with core.db.read() as conn:
        strong = await conn.scalar(sa.select(answers.c.score))
    assert strong > weak
    assert len(adapter.private) == 2
    clock.advance(timedelta(days=2))
    await core.tick.run()
    await answer(
        core, ALICE, thread, "changed after close", "m1@edit2", edited=True, message_id="m1"
    )
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(answers.c.score)) == strong


async def test_late_answer_is_practice_and_counts_nothing(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    clock.advance(timedelta(hours=25))
    await core.tick.run()
    await answer(core, BOB, thread, "A late answer with several words of content", "late")
    assert "graded as practice" in adapter.private[-1][1]
    board = await commands.handle(event_key="lb", actor=BOB, channel=CH, text="leaderboard all")
    assert "No graded answers yet" in board[0].text
    assert (await core.dashboard.streak(CH, "bob")).current == 0


async def test_reveal_lists_reference_top_answers_and_anonymity(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    qid = adapter.posts[0].question.id
    await answer(core, ALICE, thread, strong_answer(core, qid), "a")
    await answer(core, BOB, thread, strong_answer(core, qid), "b")
    await answer(core, Actor(WS, "carol", "Carol"), thread, "I do not know this one", "c")
    await commands.handle(event_key="p", actor=ALICE, channel=CH, text="privacy anonymous")
    reply = await commands.handle(event_key="close", actor=ADMIN, channel=CH, text="close-now")
    assert reply == []
    [reveal] = adapter.reveals
    assert reveal.answered == 3 and reveal.thread_id == thread
    # Best first, ties by time; a weak answer is nobody's model to learn from.
    assert [t.name for t in reveal.top] == ["anonymous", "Bob"]
    assert reveal.top[0].score == reveal.top[1].score >= 7


async def test_grader_failure_keeps_answer_and_tick_retries(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    flaky = FlakyGrader(core.grading.grader)
    core.grading.grader = flaky
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "An answer that must never be lost anywhere", "x")
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
    assert row.status == "pending" and row.attempts == 1 and adapter.private == []
    assert row.retry_at == clock.now() + timedelta(minutes=1)  # backoff before the next try
    flaky.fail = False
    await core.tick.run()
    await core.grading.drain()
    assert adapter.private == []  # not yet due
    clock.advance(timedelta(minutes=1))
    await core.tick.run()
    await core.grading.drain()
    async with core.db.read() as conn:
        assert await conn.scalar(sa.select(answers.c.status)) == "graded"
    assert len(adapter.private) == 1


async def test_outage_gives_provisional_grade_then_the_real_one(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    llm = FlakyGrader(FixedGrader(9))
    core.grading.grader, core.grading.fallback = llm, OfflineGrader()
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "I would guess something vaguely related here", "p")
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
        grade = (await conn.execute(sa.select(grades))).one()
    assert row.status == "provisional" and grade.provisional and grade.grader == "offline"
    assert "[provisional]" in adapter.private[-1][1]
    clock.advance(timedelta(minutes=1))
    await core.tick.run()  # still down: stays provisional, the user hears nothing new
    await core.grading.drain()
    assert len(adapter.private) == 1
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
    assert (row.attempts, row.retry_at) == (2, clock.now() + timedelta(minutes=2))
    llm.fail = False
    clock.advance(timedelta(minutes=2))
    await core.tick.run()
    await core.grading.drain()
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
        grade = (await conn.execute(sa.select(grades))).one()
    assert (row.status, row.score, grade.grader, grade.provisional) == ("graded", 9, "fixed", False)
    assert row.points == 9 + 2 + 1
    assert "is now 9/10" in adapter.private[-1][1] and len(adapter.private) == 2


async def test_unavailable_channel_goes_inactive_and_admin_told_once(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core, cron="0 9,12 * * *")
    adapter.unavailable.add(CH.channel_id)
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    await core.tick.run()
    assert adapter.posts == [] and len(adapter.notices) == 1
    assert "cannot post" in adapter.notices[0]


async def test_admin_commands_refused_for_others(core: Core, commands: Commands) -> None:
    await setup_channel(core)
    [reply] = await commands.handle(event_key="k", actor=ALICE, channel=CH, text="pause")
    assert "for workspace admins" in reply.text
    [reply] = await commands.handle(
        event_key="k2", actor=Actor(WS, "x", is_admin=True), channel=CH, text="pause"
    )
    assert "Paused" in reply.text


async def test_bad_schedule_saves_nothing(core: Core, commands: Commands) -> None:
    await setup_channel(core)
    for text in (
        "schedule 0 9 * * MON tz=Mars/Olympus",
        "schedule 0 9 * * MON topics=astrology",
        "config window=0m",
    ):
        [reply] = await commands.handle(event_key=text, actor=ADMIN, channel=CH, text=text)
        assert "nothing saved" in reply.text or "Usage" in reply.text
    [reply] = await commands.handle(event_key="cfg", actor=ADMIN, channel=CH, text="config")
    assert "schedule: 0 9 * * MON-FRI" in reply.text and "tz: UTC" in reply.text


async def test_post_now_and_close_now(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    await commands.handle(event_key="p1", actor=ADMIN, channel=CH, text="post-now")
    await commands.handle(event_key="p2", actor=ADMIN, channel=CH, text="post-now")
    assert len(adapter.posts) == 2 and all(p.extra for p in adapter.posts)
    assert adapter.posts[0].question.id != adapter.posts[1].question.id
    await commands.handle(event_key="c", actor=ADMIN, channel=CH, text="close-now")
    assert len(adapter.reveals) == 2


async def test_no_repeat_within_thirty_days(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core, cron="0 9 * * *")
    for day in range(20):
        clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + timedelta(days=day))
        await core.tick.run()
    families = [p.question.family_key for p in adapter.posts]
    assert len(families) == 20 and len(set(families)) == 20
    k = min(6, len({q.topic for q in core.bank}))
    assert len({p.question.topic for p in adapter.posts[:k]}) == k


async def test_streak_over_weekend_and_pause(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    start = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)  # Thursday
    clock.set(start - timedelta(hours=1))
    await setup_channel(core)
    for offset in (0, 1, 4):  # Thu, Fri, (weekend), Mon
        clock.set(start + timedelta(days=offset))
        await core.tick.run()
        thread = adapter.sent_keys[adapter.posts[-1].key]
        await answer(core, ALICE, thread, "an answer with several words in it", f"s{offset}")
    assert (await core.dashboard.streak(CH, "alice")).current == 3
    await commands.handle(event_key="pause", actor=ADMIN, channel=CH, text="pause")
    for offset in (5, 6):
        clock.set(start + timedelta(days=offset))
        await core.tick.run()
    await commands.handle(event_key="resume", actor=ADMIN, channel=CH, text="resume")
    clock.set(start + timedelta(days=7, minutes=1))  # next Thursday
    await core.tick.run()
    thread = adapter.sent_keys[adapter.posts[-1].key]
    await answer(core, ALICE, thread, "still going strong with my answers", "s7")
    streak = await core.dashboard.streak(CH, "alice")
    assert (streak.current, streak.best) == (4, 4)
    [reply] = await commands.handle(event_key="st", actor=ALICE, channel=CH, text="streak")
    assert "4 scheduled day(s)" in reply.text


async def test_leaderboard_scopes_and_workspace_isolation(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    other = ChannelRef("T2", "C1")
    clock.set(datetime(2026, 10, 30, 8, 0, tzinfo=UTC))
    await setup_channel(core)
    await setup_channel(core, ref=other)
    clock.set(datetime(2026, 10, 30, 9, 0, tzinfo=UTC))  # a Friday in the previous month
    await core.tick.run()
    [old_post] = [p for p in adapter.posts if p.channel == CH]
    old_thread = adapter.sent_keys[old_post.key]
    await answer(core, BOB, old_thread, "an answer from last month with words", "old")
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    threads = {p.channel.workspace_id: adapter.sent_keys[p.key] for p in adapter.posts[-2:]}
    await answer(core, ALICE, threads[WS], "an answer for this week with words", "new")
    await core.inbound.on_thread_message(
        event_key="t2",
        actor=Actor("T2", "mallory", "Mallory"),
        channel=other,
        thread_id=threads["T2"],
        text="another workspace answer with words",
    )
    await core.grading.drain()
    week = (await commands.handle(event_key="w", actor=ALICE, channel=CH, text="leaderboard"))[0]
    assert "Alice" in week.text and "Bob" not in week.text and "Mallory" not in week.text
    alltime = (
        await commands.handle(
            event_key="a", actor=ALICE, channel=CH, text="leaderboard all workspace"
        )
    )[0]
    assert "Alice" in alltime.text and "Bob" in alltime.text and "Mallory" not in alltime.text


async def test_forget_me_removes_every_row(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "an answer that will be forgotten soon", "f")
    [ask] = await commands.handle(event_key="f1", actor=ALICE, channel=CH, text="forget-me")
    assert "confirm" in ask.text and await count(core, answers) == 1
    await commands.handle(event_key="f2", actor=ALICE, channel=CH, text="forget-me confirm")
    async with core.db.read() as conn:
        for table in ("answers", "grades", "users", "practice"):
            col = "id" if table == "users" else ("answer_id" if table == "grades" else "user_id")
            if table == "grades":
                n = await conn.scalar(sa.text("SELECT count(*) FROM grades"))
            else:
                n = await conn.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {col}='alice'"))
            assert n == 0, table


async def test_practice_then_plain_line_answers_it(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    topic = next(iter(core.bank)).topic
    [ask] = await commands.handle(event_key="pr", actor=ALICE, channel=CH, text=f"practice {topic}")
    assert f"Practice [{topic}" in ask.text
    async with core.db.read() as conn:
        qid = await conn.scalar(sa.select(practice.c.question_id))
    assert core.bank.get(qid).prompt in ask.text
    replies = await core.inbound.on_loose_message(
        event_key="ans", actor=ALICE, channel=CH, text=strong_answer(core, qid)
    )
    await core.grading.drain()
    assert replies == []
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
        assert await conn.scalar(sa.select(sa.func.count()).select_from(practice)) == 0
    assert row.kind == "practice" and row.points is None and row.score >= 7
    user, text = adapter.private[-1]
    assert user == "alice" and "points" not in text
    [reply] = await core.inbound.on_loose_message(
        event_key="again", actor=ALICE, channel=CH, text="hi"
    )
    assert "No question is open" in reply.text


async def test_mcq_daily_answered_by_letter(
    db: Database, bank: Bank, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    mcq = next(q for q in bank if q.type == "mcq")
    core = build_core(
        db=db, bank=Bank({mcq.id: mcq}, bank.topics), grader=OfflineGrader(), clock=clock
    )
    core.platforms.attach(adapter)
    await setup_channel(core)
    await first_daily(core, clock, adapter)
    [refusal] = await core.inbound.on_loose_message(
        event_key="bad", actor=ALICE, channel=CH, text="maybe"
    )
    assert "multiple choice" in refusal.text
    wrong = next(letter for letter in mcq.letters if letter != mcq.answer)
    await core.inbound.on_loose_message(event_key="ok", actor=ALICE, channel=CH, text=wrong.lower())
    await core.inbound.on_loose_message(
        event_key="ok2", actor=ALICE, channel=CH, text=mcq.answer or ""
    )
    await core.grading.drain()
    [(user, text)] = adapter.private
    assert user == "alice" and "0/10" in text and (mcq.explanation or "") in text


async def test_regrade_once_per_answer_and_only_ones_own(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "An answer about the topic with several words", "r")
    [bob_try] = await commands.handle(event_key="b", actor=BOB, channel=CH, text="regrade 1")
    assert "No such answer of yours" in bob_try.text
    core.grading.grader = FixedGrader(8)
    [ok] = await commands.handle(event_key="r1", actor=ALICE, channel=CH, text="regrade")
    await core.grading.drain()
    assert "Re-grading answer #1" in ok.text
    assert "8/10" in adapter.private[-1][1]
    [again] = await commands.handle(event_key="r2", actor=ALICE, channel=CH, text="regrade #1")
    assert "already re-graded once" in again.text


async def test_admin_override_recorded_and_points_follow(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    other = ChannelRef("T2", "C9")
    await setup_channel(core)
    await setup_channel(core, ref=other, cron="0 10 * * *")
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "I do not know much about this question", "o")
    [refused] = await commands.handle(event_key="x", actor=ALICE, channel=CH, text="override 1 10")
    assert "for workspace admins" in refused.text
    [foreign] = await commands.handle(
        event_key="y", actor=Actor("T2", "boss"), channel=other, text="override 1 10"
    )
    assert "No answer #1 in this workspace" in foreign.text
    [done] = await commands.handle(event_key="z", actor=ADMIN, channel=CH, text="override 1 10")
    assert "now scores 10/10" in done.text
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers))).one()
    assert (row.score, row.points, row.override_by) == (10, 10 + 2 + 1, "boss")
    assert row.override_at == clock.now()
    assert "An admin set the score" in adapter.private[-1][1]
    board = (await commands.handle(event_key="lb", actor=ALICE, channel=CH, text="leaderboard"))[0]
    assert "Alice: 13 pts" in board.text


async def test_practice_cost_guard(core: Core, commands: Commands) -> None:
    await setup_channel(core)
    core.quota.limit = 2
    for i in range(2):
        await commands.handle(event_key=f"p{i}", actor=ALICE, channel=CH, text="practice")
        await core.inbound.on_loose_message(
            event_key=f"a{i}", actor=ALICE, channel=CH, text="some practice answer words here"
        )
    await core.grading.drain()
    [refused] = await commands.handle(event_key="p3", actor=ALICE, channel=CH, text="practice")
    assert "used your 2 graded requests" in refused.text
    assert "from 2026-11-24 08:00 UTC (in 24 h 0 min)" in refused.text
    [bob] = await commands.handle(event_key="pb", actor=BOB, channel=CH, text="practice")
    assert "Practice [" in bob.text


async def test_post_now_racing_a_tick_posts_once(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    gate = asyncio.Event()
    original = adapter.post_daily

    async def slow_post(post: DailyPost) -> str:
        await gate.wait()  # the platform is slow to answer
        return await original(post)

    adapter.post_daily = slow_post  # type: ignore[method-assign]
    posting = asyncio.ensure_future(core.dailies.post_now(CH))
    await asyncio.sleep(0.05)
    await core.tick.run()  # sees the reservation, but its send lease is held
    gate.set()
    await posting
    await core.tick.run()
    assert len(adapter.posts) == 1


async def test_failed_reveal_is_retried_and_a_failing_step_stops_nothing(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    # a platform this process does not serve
    await core.tenants.ensure_workspace("LOCAL", "console")
    await core.tenants.ensure_channel(ChannelRef("LOCAL", "console"))
    await first_daily(core, clock, adapter)
    original = adapter.post_reveal

    async def down(reveal: Reveal) -> None:
        raise ConnectionError("platform down")

    adapter.post_reveal = down  # type: ignore[method-assign]
    clock.advance(timedelta(days=1))
    await core.tick.run()
    assert adapter.reveals == []
    adapter.post_reveal = original  # type: ignore[method-assign]
    clock.advance(timedelta(minutes=1))
    await core.tick.run()
    assert [r.daily_id for r in adapter.reveals] == [1]
    await core.tick.run()
    assert len(adapter.reveals) == 1  # recorded: not revealed twice


async def test_an_override_is_final_and_a_failing_command_is_answered(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, commands: Commands
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "An answer about the topic with several words", "r")
    await commands.handle(event_key="o", actor=ADMIN, channel=CH, text="override 1 9")
    [refused] = await commands.handle(event_key="rg", actor=ALICE, channel=CH, text="regrade")
    assert "an admin set its score" in refused.text

    async def upload_refused(*_: object) -> None:
        raise ConnectionError("the platform refused the file")

    adapter.upload_file = upload_refused  # type: ignore[method-assign]
    [sorry] = await commands.handle(event_key="ex", actor=ALICE, channel=CH, text="export")
    assert "failed on our side" in sorry.text


async def test_a_late_delivery_of_an_answer_sent_in_time_still_counts(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core, cron="0 9 * * *")
    thread = await first_daily(core, clock, adapter)
    closes = adapter.posts[0].closes_at
    clock.set(closes + timedelta(minutes=5))
    await core.tick.run()  # closed and revealed
    sent = closes - timedelta(minutes=1)  # a retry, or a replay after a reconnect
    await core.inbound.on_thread_message(
        event_key="in-time",
        actor=ALICE,
        channel=CH,
        thread_id=thread,
        text="an answer that was sent before the close",
        sent_at=sent,
    )
    await core.inbound.on_thread_message(
        event_key="too-late",
        actor=BOB,
        channel=CH,
        thread_id=thread,
        text="an answer that was sent after the close",
        sent_at=closes + timedelta(minutes=2),
    )
    await core.grading.drain()
    async with core.db.read() as conn:
        rows = {r.user_id: r for r in await conn.execute(sa.select(answers))}
    assert (rows["alice"].kind, rows["alice"].answered_at) == ("daily", sent)
    assert rows["bob"].kind == "late"
