"""Leases between processes (two holders over one database): named claims are held by one
holder until released or lapsed, and grading jobs are taken and claimed by one holder at a
time, taken over once the holder's lease lapses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store.answers import Answers, NewAnswer
from bot.store.db import Database
from bot.store.jobs import GradingJobs
from bot.store.reserve import Claims, Holder

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
A, B = Holder("host-1-a", LEASE), Holder("host-2-b", LEASE)


async def test_a_name_is_held_by_one_holder_until_released_or_lapsed(db: Database) -> None:
    claims = Claims(db)
    names = ["post:T1", "post:T2", "post:T3"]
    won = await asyncio.gather(claims.claim(names, A, NOW), claims.claim(names, B, NOW))
    assert sorted(won[0] + won[1]) == names and not set(won[0]) & set(won[1])
    held_by_a, held_by_b = set(won[0]), set(won[1])
    assert set(await claims.claim(names, A, NOW)) == held_by_a  # a holder keeps its own
    assert len(await claims.claim(names, B, NOW, limit=1)) == min(1, len(held_by_b))
    later = NOW + LEASE / 2
    await claims.renew(A, later)
    # past B's first lease but not A's renewed one: B gets only what it held
    assert set(await claims.claim(names, B, NOW + LEASE + timedelta(seconds=1))) == held_by_b
    lapsed = later + LEASE + timedelta(seconds=1)
    assert set(await claims.claim(names, B, lapsed)) == set(names)  # A stopped renewing
    await claims.release(names, B)
    assert set(await claims.claim(names, A, lapsed)) == set(names)


async def test_live_holders_are_the_ones_renewing_their_worker_name(db: Database) -> None:
    claims = Claims(db)
    await claims.claim(["worker:" + A.owner], A, NOW)
    await claims.claim(["worker:" + B.owner], B, NOW - 2 * LEASE)
    assert await claims.live("worker:", A, NOW) == 1
    await claims.prune("worker:", NOW - LEASE)
    assert await claims.live("worker:", A, NOW - 2 * LEASE) == 1  # only A's row is left


async def answer(db: Database, n: int, at: datetime) -> int:
    stored = await Answers(db).ingest(
        NewAnswer(
            workspace_id="T1", user_id=f"U{n}", user_name="u", event_key=f"e{n}",
            channel_id="C1", question_id="q1", daily_id=None, kind="practice",
            source="dm", text="an answer of several words", message_id=None,
            answered_at=at, now=at,
        )
    )
    assert stored.answer is not None
    return stored.answer.id


async def test_a_grading_job_is_graded_by_one_holder_and_taken_over_after_its_lease(
    db: Database,
) -> None:
    a, b = GradingJobs(db, A), GradingJobs(db, B)
    first = await answer(db, 1, NOW)
    taken = await asyncio.gather(a.take(first, NOW), b.take(first, NOW))
    assert sum(t is not None for t in taken) == 1
    holder, other = (a, b) if taken[0] is not None else (b, a)
    assert await holder.take(first, NOW) is not None  # the holder may renew it
    assert await other.claim(NOW, 16, 10) == []  # fresh lease: nobody else
    await holder.renew(holder.holder.owner, NOW + LEASE / 2)
    assert await other.claim(NOW + LEASE, 16, 10) == []  # renewed
    after = NOW + 2 * LEASE
    [claimed] = await other.claim(after, 16, 10)  # the holder died: its lease lapsed
    assert claimed.id == first
    assert await holder.take(first, after) is None


async def test_a_fresh_unleased_answer_is_left_to_the_process_that_stored_it(
    db: Database,
) -> None:
    jobs = GradingJobs(db, B)
    stored = await answer(db, 2, NOW)
    assert await jobs.claim(NOW + LEASE / 2, 16, 10) == []  # its storer is about to grade it
    [claimed] = await jobs.claim(NOW + 2 * LEASE, 16, 10)  # its storer never did
    assert claimed.id == stored
