"""Grading as leased jobs over three processes: each answer stored once and graded once, also
when the process grading it dies; migrations once when processes start together."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from bench.slack_common import FakeSlackProcess
from bot.config import SHIPPED_PACKS
from bot.packs import load_bank
from bot.store.db import MIGRATIONS, Database
from bot.store.tables import answers, dailies, grades
from testing.cluster import Cluster, seed, send_event
from testing.fake_openai import FakeModel, FakeOpenAIServer
from testing.slack import payloads

TICK = 1.0
LEASE = 2 * TICK
BOUND = 90.0
TEXT = "A hash index serves point lookups in constant time; a B-tree serves range scans in order."


async def count(db: Database, table: sa.Table) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def eventually(check: Any, what: str, bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def posted_threads(db: Database, expected: int) -> list[tuple[str, str, str]]:
    """(team, channel, thread ts) of every open-question daily (a reply under an MCQ daily is
    discussion), once the cluster posted them all."""

    async def done() -> bool:
        async with db.read() as conn:
            n = await conn.scalar(
                sa.select(sa.func.count()).where(dailies.c.status == "posted")
            )
        return (n or 0) >= expected

    await eventually(done, "the dailies")
    async with db.read() as conn:
        rows = await conn.execute(
            sa.select(
                dailies.c.workspace_id,
                dailies.c.channel_id,
                dailies.c.message_id,
                dailies.c.question_id,
            )
        )
        open_ids = {q.id for q in load_bank([SHIPPED_PACKS]).open_questions()}
        return [(r[0], r[1], r[2]) for r in rows if r[3] in open_ids]


def reply(team: str, channel: str, thread: str, user: str, n: int) -> dict[str, Any]:
    return payloads.thread_reply(
        team, channel, user, thread, f"1900000000.{n:06d}", f"{TEXT} ({n})", f"EvS{n:07d}"
    )


async def test_a_grader_killed_after_the_llm_answered_is_replaced_and_grades_once(
    database_url: str, fake_slack: FakeSlackProcess, workdir: Path
) -> None:
    model = FakeModel(mode="slow", slow_seconds=0.2)
    llm = FakeOpenAIServer(model)
    base_url = await llm.start()
    asked = asyncio.Event()
    model.on_request = lambda _body: asked.set()
    await fake_slack.add_teams(["TG"], ["U001"])
    cluster = Cluster(
        database_url,
        fake_slack.api_url,
        workdir,
        tick_seconds=TICK,
        env={"DRILLBOT_GRADER": "llm", "OPENAI_BASE_URL": base_url},
    )
    db = Database(database_url)
    locker = create_async_engine(database_url)
    try:
        await cluster.start()
        await seed(database_url, ["TG"], 6)  # most dailies are open questions
        (team, channel, thread), *_ = await posted_threads(db, 6)
        async with locker.connect() as hold:
            await hold.begin()  # grades are held: the grade cannot be written yet
            await hold.execute(sa.text("LOCK TABLE grades IN EXCLUSIVE MODE"))
            victim = cluster.members[0]
            async with aiohttp.ClientSession() as session:
                body = reply(team, channel, thread, "U001", 1)
                assert await send_event(session, victim.events_url, body) == 200
            await asyncio.wait_for(asked.wait(), BOUND)

            async def writing() -> bool:  # the LLM answered; the grade's write waits
                waiting = await hold.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        " WHERE c.relname = 'grades' AND NOT l.granted"
                    )
                )
                return bool(waiting)

            await eventually(writing, "the grade's write")
            cluster.kill(victim)
            await victim.process.wait()
            await hold.rollback()

        async def graded() -> bool:
            async with db.read() as conn:
                status = await conn.scalar(sa.select(answers.c.status))
            return bool(status == "graded")

        await eventually(graded, "another process's grade")
        await asyncio.sleep(2 * LEASE)  # more ticks of the survivors: nothing more happens
        assert await count(db, answers) == 1
        assert await count(db, grades) == 1
        async with db.read() as conn:
            row = (await conn.execute(sa.select(grades.c.feedback_at, answers.c.lease_owner)
                                      .join(answers, answers.c.id == grades.c.answer_id))).one()
        assert row.feedback_at is not None  # the intent was recorded with the grade
        assert len(model.requests) == 2  # the killed process's request, and the taker's
        calls = (await fake_slack.stats())["calls"]
        assert calls.get("chat.postEphemeral", 0) <= 1
    finally:
        await cluster.stop()
        await llm.stop()
        await locker.dispose()
        await db.close()


async def test_answers_round_robin_with_redeliveries_are_stored_and_graded_once(
    database_url: str, fake_slack: FakeSlackProcess, workdir: Path
) -> None:
    teams = [f"TR{n}" for n in range(5)]
    users = [f"U{n:03d}" for n in range(30)]
    await fake_slack.add_teams(teams, users)
    cluster = Cluster(database_url, fake_slack.api_url, workdir, tick_seconds=TICK)
    db = Database(database_url)
    try:
        await cluster.start()
        await seed(database_url, teams, 4)
        threads = await posted_threads(db, len(teams) * 4)
        bodies = [
            reply(t, c, ts, u, n)
            for n, ((t, c, ts), u) in enumerate((th, u) for th in threads for u in users)
        ]
        unique = len(bodies)  # 30 per open-question daily
        rng = random.Random(13)
        plan: list[tuple[int, dict[str, Any], int]] = [
            (k % cluster.size, body, 0) for k, body in enumerate(bodies)
        ]
        for k in rng.sample(range(unique), unique // 10):  # 10 % redelivered ...
            elsewhere = rng.random() < 0.5  # ... half of them to another process
            target = (k + (1 if elsewhere else 0)) % cluster.size
            plan.insert(rng.randrange(k + 1, len(plan) + 1), (target, bodies[k], 1))
        gate = asyncio.Semaphore(32)
        async with aiohttp.ClientSession() as session:

            async def deliver(target: int, body: dict[str, Any], retry: int) -> int:
                async with gate:
                    url = cluster.members[target].events_url
                    return await send_event(session, url, body, retry)

            statuses = await asyncio.gather(*(deliver(*p) for p in plan))
        assert set(statuses) == {200}

        async def all_graded() -> bool:
            return await count(db, grades) >= unique

        await eventually(all_graded, f"every grade ({await count(db, answers)} stored)")
        await asyncio.sleep(LEASE)
        assert await count(db, answers) == unique
        assert await count(db, grades) == unique
        async with db.read() as conn:
            told = await conn.scalar(
                sa.select(sa.func.count()).where(grades.c.feedback_at.is_not(None))
            )
        assert told == unique  # one recorded intent per answer
        calls = (await fake_slack.stats())["calls"]
        assert calls.get("chat.postEphemeral", 0) <= unique
    finally:
        await cluster.stop()
        await db.close()


async def test_two_processes_starting_together_on_an_empty_database_migrate_once(
    database_url: str, fake_slack: FakeSlackProcess, workdir: Path
) -> None:
    cluster = Cluster(database_url, fake_slack.api_url, workdir, size=2, tick_seconds=TICK)
    db = Database(database_url)
    try:
        await cluster.start()  # both serve /healthz and renew their heartbeat
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        async with db.read() as conn:
            versions = list(
                (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalars()
            )
        assert versions == [head]
        for member in cluster.members:
            assert "Traceback" not in member.log.read_text()
    finally:
        await cluster.stop()
        await db.close()
