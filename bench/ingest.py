"""(a) Answers ingested and graded per second through the core, against raw inserts.

The core path is the real one: a posted daily, N distinct users answering once each in its
thread through `Core.on_thread_message`, the offline grader, then `drain()`; the clock stops
when every answer is graded and stored. The baseline writes the same answer rows with bare
aiosqlite, one transaction per answer, with the pragmas the bot's connections use, into a schema
made by the project's migrations: the floor any durable per-answer ingest pays on this disk.
The offline grader alone (no database) is timed on the same texts, to say where time goes.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import sqlalchemy as sa

from bench.common import (
    Figure,
    NullAdapter,
    Section,
    answer_text,
    median,
    migrate_sqlite,
    open_bank,
    shipped_bank,
    sqlite_url,
)
from bot.app import build_core
from bot.clock import ManualClock
from bot.domain.types import Actor, ChannelRef
from bot.grading.base import GradeRequest
from bot.grading.offline import OfflineGrader
from bot.packs import Bank, Question
from bot.store.db import Database
from bot.store.tables import answers

GOAL_SHARE = 1 / 3
WS = "W-bench"
CHANNEL = ChannelRef(WS, "C-bench")
SLOT = datetime(2026, 7, 7, 9, 0, tzinfo=UTC)  # a Tuesday; "0 9 * * *" posts then
ANSWERED_AT = SLOT + timedelta(minutes=5)


@dataclass(frozen=True)
class Batch:
    """One repetition's input: the daily's question and the answer texts, fixed before timing."""

    question: Question
    texts: list[str]


async def _engine_run(workdir: Path, bank: Bank, n: int, seed: int) -> tuple[float, Batch]:
    """Seconds to ingest and grade `n` answers through the core, on a fresh database."""
    clock = ManualClock(SLOT - timedelta(minutes=1))
    db = Database(sqlite_url(workdir / "core.db"))
    try:
        await db.migrate()
        core = build_core(db=db, bank=bank, grader=OfflineGrader(), clock=clock)
        adapter = NullAdapter()
        core.platforms.attach(adapter)
        await core.tenants.ensure_workspace(WS, adapter.platform, "bench")
        await core.tenants.ensure_channel(CHANNEL, name="bench", cron="0 9 * * *")
        clock.set(ANSWERED_AT)
        await core.tick.run()
        assert adapter.last is not None, "the daily was not posted"
        thread = f"m{adapter.last.daily_id}"
        rng = random.Random(seed)
        batch = Batch(adapter.last.question,
                      [answer_text(adapter.last.question, rng) for _ in range(n)])
        start = time.perf_counter()
        for i, text in enumerate(batch.texts):
            await core.inbound.on_thread_message(
                event_key=f"ev-{i}", actor=Actor(WS, f"u{i:05d}", f"User {i}"), channel=CHANNEL,
                thread_id=thread, text=text, message_id=f"a{i}")
        await core.grading.drain()
        elapsed = time.perf_counter() - start
        async with db.read() as conn:
            graded = await conn.scalar(sa.select(sa.func.count()).select_from(answers)
                                       .where(answers.c.status == "graded"))
        assert graded == n, f"core graded {graded} of {n} answers"
        return elapsed, batch
    finally:
        await db.close()


async def _raw_run(workdir: Path, batch: Batch) -> float:
    """Seconds to insert the same answer rows with bare aiosqlite, committing each one."""
    path = workdir / "raw.db"
    pragmas = await migrate_sqlite(path)
    stamp = ANSWERED_AT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    async with aiosqlite.connect(path) as conn:
        for name, value in pragmas.items():
            await conn.execute(f"PRAGMA {name}={value}")
        # The rows the answers hang on (foreign keys are on, as in the bot); not timed.
        await conn.execute("INSERT INTO workspaces(id, platform, timezone, created_at) "
                           "VALUES (?, 'bench', 'UTC', ?)", (WS, stamp))
        await conn.execute(
            "INSERT INTO channels(workspace_id, id, cron, timezone, topics, schedule_since, "
            "created_at) VALUES (?, ?, '0 9 * * *', 'UTC', '[]', ?, ?)",
            (WS, CHANNEL.channel_id, stamp, stamp))
        cursor = await conn.execute(
            "INSERT INTO dailies(workspace_id, channel_id, question_id, local_date, slot, kind, "
            "status, scheduled_at, posted_at, closes_at, message_id) "
            "VALUES (?, ?, ?, '2026-07-07', '09:00', 'scheduled', 'posted', ?, ?, ?, 'm1')",
            (WS, CHANNEL.channel_id, batch.question.id, stamp, stamp, stamp))
        daily_id = cursor.lastrowid
        await conn.commit()
        rows = [(WS, CHANNEL.channel_id, daily_id, f"u{i:05d}", batch.question.id, text, f"a{i}",
                 stamp) for i, text in enumerate(batch.texts)]
        start = time.perf_counter()
        for row in rows:
            await conn.execute(
                "INSERT INTO answers(workspace_id, channel_id, daily_id, user_id, question_id, "
                "kind, source, text, message_id, answered_at, status) "
                "VALUES (?, ?, ?, ?, ?, 'daily', 'thread', ?, ?, ?, 'pending')", row)
            await conn.commit()
        elapsed = time.perf_counter() - start
        async with conn.execute("SELECT count(*) FROM answers") as cur:
            stored = await cur.fetchone()
    assert stored is not None and stored[0] == len(rows), "raw insert lost rows"
    return elapsed


async def _grader_only(batch: Batch) -> float:
    """Seconds the offline grader alone needs for the batch: the CPU floor of grading."""
    grader = OfflineGrader()
    start = time.perf_counter()
    for text in batch.texts:
        await grader.grade(GradeRequest(question=batch.question, answer=text))
    return time.perf_counter() - start


def run(n: int, reps: int, log: bool = True) -> Section:
    """Ingest `n` answers per repetition through the core and raw; medians of `reps`."""
    return asyncio.run(_run(n, reps, log))


async def _run(n: int, reps: int, log: bool) -> Section:
    """Interleave core and raw repetitions, so a noisy neighbour hits both alike."""
    bank = open_bank(shipped_bank())
    engine_s: list[float] = []
    raw_s: list[float] = []
    grade_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="drillbot-bench-") as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        await _engine_run(warm, bank, min(n, 50), seed=0)  # lazy imports, rubric cache
        for rep in range(reps):
            workdir = Path(tmp) / f"rep{rep}"
            workdir.mkdir()
            elapsed, batch = await _engine_run(workdir, bank, n, seed=rep + 1)
            engine_s.append(elapsed)
            raw_s.append(await _raw_run(workdir, batch))
            grade_s.append(await _grader_only(batch))
            if log:
                print(f"  ingest rep {rep + 1}/{reps}: core {n / engine_s[-1]:,.0f}/s, "
                      f"raw {n / raw_s[-1]:,.0f}/s, grader alone {n / grade_s[-1]:,.0f}/s",
                      flush=True)
    engine_rate, raw_rate, grade_rate = (n / median(s) for s in (engine_s, raw_s, grade_s))
    share = engine_rate / raw_rate
    figures = [
        Figure("ingest", "answers/s (ingest+grade)", engine_rate, "/s", raw_rate,
               "raw aiosqlite", share, ">= 0.333x raw", share >= GOAL_SHARE,
               f"{n} answers, median of {reps}; ratio = core rate / raw insert rate"),
        Figure("ingest", "offline grader alone", grade_rate, "/s", raw_rate, "raw aiosqlite",
               grade_rate / raw_rate, note="CPU floor of grading, no database (informational)"),
    ]
    return Section("ingest", figures, {
        "answers": n, "reps": reps, "engine_seconds": engine_s, "raw_seconds": raw_s,
        "grader_seconds": grade_s, "engine_per_s": engine_rate, "raw_per_s": raw_rate,
        "grader_per_s": grade_rate, "engine_over_raw": share, "goal_engine_over_raw": GOAL_SHARE,
    })
