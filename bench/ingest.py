"""(a) Answers taken in and graded per second through the intake pipeline, against raw inserts;
(b) the configured grader's own rate beside it.

(a) The intake path is the real one: a posted daily and N distinct users answering it once
each in its thread through `Inbound.on_thread_message` (text checks, dedupe, store, grading,
points, review card, feedback), driven by 64 concurrent submitters, with a **null grader** that
returns a fixed grade at once, so the figure is the pipeline's and the database's cost alone;
the clock stops when every answer is graded and stored. The baseline writes the same answer
rows with bare aiosqlite, one transaction per answer (insert, commit), driven by the same 64
submitters over one connection, with the pragmas the bot's connections use, into a schema made
by the project's migrations: the floor of any durable per-answer ingest on this disk.

(b) The configured grader (the settings' `DRILLBOT_GRADER`; offline by default) alone, no
database, on the same texts: how fast grading itself goes, to set beside (a).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
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
from bot.app import build_core, make_grader
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.types import Actor, ChannelRef
from bot.grading.base import Grade, Grader, GradeRequest
from bot.packs import Bank, Question
from bot.store.db import Database
from bot.store.tables import answers

GOAL_SHARE = 1 / 3
SUBMITTERS = 64
WS = "W-bench"
CHANNEL = ChannelRef(WS, "C-bench")
SLOT = datetime(2026, 7, 7, 9, 0, tzinfo=UTC)  # a Tuesday; "0 9 * * *" posts then
ANSWERED_AT = SLOT + timedelta(minutes=5)


class NullGrader:
    """Returns a fixed grade at once: the pipeline's cost without any grading cost."""

    name, version = "null", "1"

    async def grade(self, request: GradeRequest) -> Grade:
        return Grade(score=7, grader=self.name, grader_version=self.version)


@dataclass(frozen=True)
class Batch:
    """One repetition's input: the daily's question and the answer texts, fixed before timing."""

    question: Question
    texts: list[str]


async def _submitters(n: int, submit: Callable[[int], Awaitable[None]]) -> None:
    """Submit items 0..n-1 from SUBMITTERS concurrent workers, each taking the next item."""
    items = iter(range(n))

    async def worker() -> None:
        for i in items:
            await submit(i)

    await asyncio.gather(*(worker() for _ in range(SUBMITTERS)))


async def _intake_run(workdir: Path, bank: Bank, n: int, seed: int) -> tuple[float, Batch]:
    """Seconds to take in and grade `n` answers through the core, on a fresh database."""
    clock = ManualClock(SLOT - timedelta(minutes=1))
    db = Database(sqlite_url(workdir / "core.db"))
    try:
        await db.migrate()
        core = build_core(db=db, bank=bank, grader=NullGrader(), clock=clock)
        adapter = NullAdapter()
        core.platforms.attach(adapter)
        await core.tenants.ensure_workspace(WS, adapter.platform, "bench")
        await core.tenants.ensure_channel(CHANNEL, name="bench", cron="0 9 * * *")
        clock.set(ANSWERED_AT)
        await core.tick.run()
        assert adapter.last is not None, "the daily was not posted"
        thread = f"m{adapter.last.daily_id}"
        rng = random.Random(seed)
        question = adapter.last.question
        batch = Batch(question, [answer_text(question, rng) for _ in range(n)])

        async def submit(i: int) -> None:
            await core.inbound.on_thread_message(
                event_key=f"ev-{i}",
                actor=Actor(WS, f"u{i:05d}", f"User {i}"),
                channel=CHANNEL,
                thread_id=thread,
                text=batch.texts[i],
                message_id=f"a{i}",
            )

        start = time.perf_counter()
        await _submitters(n, submit)
        await core.grading.drain()
        elapsed = time.perf_counter() - start
        async with db.read() as conn:
            graded = await conn.scalar(
                sa.select(sa.func.count()).select_from(answers).where(answers.c.status == "graded")
            )
        assert graded == n, f"the core graded {graded} of {n} answers"
        return elapsed, batch
    finally:
        await db.close()


async def _raw_run(workdir: Path, batch: Batch) -> float:
    """Seconds to insert the same answer rows with bare aiosqlite, one transaction each."""
    path = workdir / "raw.db"
    pragmas = await migrate_sqlite(path)
    stamp = ANSWERED_AT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    async with aiosqlite.connect(path) as conn:
        for name, value in pragmas.items():
            await conn.execute(f"PRAGMA {name}={value}")
        # The rows the answers hang on (foreign keys are on, as in the bot); not timed.
        await conn.execute(
            "INSERT INTO workspaces(id, platform, timezone, created_at) "
            "VALUES (?, 'bench', 'UTC', ?)",
            (WS, stamp),
        )
        await conn.execute(
            "INSERT INTO channels(workspace_id, id, cron, timezone, topics, schedule_since, "
            "created_at) VALUES (?, ?, '0 9 * * *', 'UTC', '[]', ?, ?)",
            (WS, CHANNEL.channel_id, stamp, stamp),
        )
        cursor = await conn.execute(
            "INSERT INTO dailies(workspace_id, channel_id, question_id, local_date, slot, kind, "
            "status, scheduled_at, posted_at, closes_at, message_id) "
            "VALUES (?, ?, ?, '2026-07-07', '09:00', 'scheduled', 'posted', ?, ?, ?, 'm1')",
            (WS, CHANNEL.channel_id, batch.question.id, stamp, stamp, stamp),
        )
        daily_id = cursor.lastrowid
        await conn.commit()
        rows = [
            (WS, CHANNEL.channel_id, daily_id, f"u{i:05d}", batch.question.id, text, f"a{i}", stamp)
            for i, text in enumerate(batch.texts)
        ]
        one_at_a_time = asyncio.Lock()  # one connection: a transaction is an insert + commit

        async def submit(i: int) -> None:
            async with one_at_a_time:
                await conn.execute(
                    "INSERT INTO answers(workspace_id, channel_id, daily_id, user_id, "
                    "question_id, kind, source, text, message_id, answered_at, status) "
                    "VALUES (?, ?, ?, ?, ?, 'daily', 'thread', ?, ?, ?, 'pending')",
                    rows[i],
                )
                await conn.commit()

        start = time.perf_counter()
        await _submitters(len(rows), submit)
        elapsed = time.perf_counter() - start
        async with conn.execute("SELECT count(*) FROM answers") as cur:
            stored = await cur.fetchone()
    assert stored is not None and stored[0] == len(rows), "raw insert lost rows"
    return elapsed


async def _grader_only(grader: Grader, batch: Batch) -> float:
    """Seconds the configured grader alone needs for the batch (no database)."""
    start = time.perf_counter()
    for text in batch.texts:
        await grader.grade(GradeRequest(question=batch.question, answer=text))
    return time.perf_counter() - start


def run(n: int, reps: int, log: bool = True) -> Section:
    """Take in `n` answers per repetition through the core and raw; medians of `reps`."""
    return asyncio.run(_run(n, reps, log))


async def _run(n: int, reps: int, log: bool) -> Section:
    """Interleave core and raw repetitions, so a noisy neighbour hits both alike."""
    bank = open_bank(shipped_bank())
    grader = make_grader(Settings())
    intake_s: list[float] = []
    raw_s: list[float] = []
    grade_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="drillbot-bench-") as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        _, warm_batch = await _intake_run(warm, bank, min(n, 50), seed=0)  # lazy imports
        await _grader_only(grader, warm_batch)
        for rep in range(reps):
            workdir = Path(tmp) / f"rep{rep}"
            workdir.mkdir()
            elapsed, batch = await _intake_run(workdir, bank, n, seed=rep + 1)
            intake_s.append(elapsed)
            raw_s.append(await _raw_run(workdir, batch))
            grade_s.append(await _grader_only(grader, batch))
            if log:
                print(
                    f"  ingest rep {rep + 1}/{reps}: intake {n / intake_s[-1]:,.0f}/s, "
                    f"raw {n / raw_s[-1]:,.0f}/s, {grader.name} grader alone "
                    f"{n / grade_s[-1]:,.0f}/s",
                    flush=True,
                )
    closer = getattr(grader, "aclose", None)
    if closer is not None:
        await closer()
    intake_rate, raw_rate, grade_rate = (n / median(s) for s in (intake_s, raw_s, grade_s))
    share = intake_rate / raw_rate
    figures = [
        Figure(
            "ingest",
            "answers/s (intake+store+null grade)",
            intake_rate,
            "/s",
            raw_rate,
            "raw aiosqlite",
            share,
            ">= 0.333x raw",
            share >= GOAL_SHARE,
            f"{n} answers from {SUBMITTERS} concurrent submitters, median of {reps}; "
            "ratio = intake rate / raw insert rate (one transaction per answer)",
        ),
        Figure(
            "ingest",
            f"{grader.name} grader alone",
            grade_rate,
            "/s",
            raw_rate,
            "raw aiosqlite",
            grade_rate / raw_rate,
            note="the configured grader's own rate, no database (informational)",
        ),
    ]
    return Section(
        "ingest",
        figures,
        {
            "answers": n,
            "reps": reps,
            "submitters": SUBMITTERS,
            "grader": grader.name,
            "intake_seconds": intake_s,
            "raw_seconds": raw_s,
            "grader_seconds": grade_s,
            "intake_per_s": intake_rate,
            "raw_per_s": raw_rate,
            "grader_per_s": grade_rate,
            "intake_over_raw": share,
            "goal_intake_over_raw": GOAL_SHARE,
        },
    )
