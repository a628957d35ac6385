"""F6 and F7: an LLM outage (500s), then 429s with Retry-After, then recovery, on an injected clock,
with the model on a real loopback HTTP server and the core on SQLite and PostgreSQL.

While the model is down: the breaker opens after at most 5 failures in 60 s; while it is
closed an answer costs at most `max_retries + 1` HTTP attempts, while it is open none; every
answer keeps a clearly labelled provisional grade from the offline grader (never a score
passed off as the model's). Once the model is back, every answer has its final LLM grade
within 5 simulated minutes. F7 below goes through the core; the grader's own handling of bad
output is `tests/test_llm_grader.py` (`test_malformed_output_gets_one_repair_call`,
`test_unusable_output_raises_without_a_made_up_grade`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.app import Core
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.types import Actor
from bot.grading.breaker import CircuitBreaker
from bot.grading.llm import LLMGrader
from bot.grading.offline import OfflineGrader
from bot.store.tables import answers, grades
from testing.fake_openai import FakeModel, FakeOpenAIServer
from testing.fakes import RecordingAdapter
from tests.services.test_core import WS, answer, first_daily, setup_channel

USERS = 8
MAX_RETRIES = 1


@pytest.fixture
async def model() -> AsyncIterator[tuple[FakeModel, str]]:
    fake = FakeModel("500")
    server = FakeOpenAIServer(fake)
    url = await server.start()
    yield fake, url
    await server.stop()


async def _state(core: Core) -> list[tuple[str, str | None, bool | None]]:
    async with core.db.read() as conn:
        rows = await conn.execute(
            sa.select(answers.c.status, grades.c.grader, grades.c.provisional).select_from(
                answers.outerjoin(grades, grades.c.answer_id == answers.c.id)
            )
        )
        return [(r.status, r.grader, r.provisional) for r in rows]


async def test_f6_outage_then_429_then_recovery(
    core: Core, clock: ManualClock, adapter: RecordingAdapter, model: tuple[FakeModel, str]
) -> None:
    fake, url = model
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, openai_base_url=url, llm_max_retries=MAX_RETRIES, llm_timeout=5
    )
    grader = LLMGrader.from_settings(settings)
    grader.breaker = CircuitBreaker(
        failures=5,
        window=60,
        cooldown=60,
        is_failure=grader.breaker.is_failure,
        clock=lambda: clock.now().timestamp(),
    )
    core.grading.grader, core.grading.fallback = grader, OfflineGrader()
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    reference = adapter.posts[-1].question.reference_answer
    try:
        # the outage: every answer is stored and gets a provisional offline grade
        for n in range(USERS):
            await answer(core, Actor(WS, f"u{n}", f"U{n}"), thread, reference, f"k{n}")
            await core.grading.drain()
        assert grader.breaker.state == "open"
        assert len(fake.requests) <= 5 * (MAX_RETRIES + 1)  # closed: at most 2 per answer
        assert {s for s in await _state(core)} == {("provisional", "offline", True)}

        # 429s with Retry-After: the breaker's probe is refused, nothing is made up
        fake.mode = "429"
        clock.advance(timedelta(seconds=61))
        before = len(fake.requests)
        await core.tick.run()
        await core.grading.drain()
        assert len(fake.requests) - before <= MAX_RETRIES + 1  # one probe, its retry
        assert {s for s in await _state(core)} == {("provisional", "offline", True)}

        # recovery: all graded by the model within 5 minutes
        fake.mode = "normal"
        recovered = clock.now()
        while clock.now() - recovered <= timedelta(minutes=5):
            clock.advance(timedelta(seconds=30))
            await core.tick.run()
            await core.grading.drain()
            if {s for s in await _state(core)} == {("graded", "llm", False)}:
                break
        assert {s for s in await _state(core)} == {("graded", "llm", False)}
        print(f"F6: all {USERS} graded {clock.now() - recovered} after recovery")
    finally:
        await grader.aclose()


@pytest.mark.parametrize("mode", ["malformed", "empty", "prose", "out-of-range"])
async def test_f7_malformed_output_is_repaired_once_or_graded_provisionally(
    core: Core,
    clock: ManualClock,
    adapter: RecordingAdapter,
    model: tuple[FakeModel, str],
    mode: str,
) -> None:
    """F7: a bad reply gets one repair call; a good repair is the grade; a model that stays
    bad leaves the answer with a labelled provisional offline grade. No crash, and every
    stored score lies in 0..10."""
    fake, url = model
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, openai_base_url=url, llm_max_retries=0, llm_timeout=5
    )
    grader = LLMGrader.from_settings(settings)
    core.grading.grader, core.grading.fallback = grader, OfflineGrader()
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    reference = adapter.posts[-1].question.reference_answer
    try:
        fake.mode, fake.script = "normal", [mode]  # bad once, then repaired
        await answer(core, Actor(WS, "u1", "U1"), thread, reference, "k1")
        await core.grading.drain()
        assert len(fake.requests) == 2
        fake.mode = mode  # bad for good: the repair is bad too
        await answer(core, Actor(WS, "u2", "U2"), thread, reference, "k2")
        await core.grading.drain()
        assert len(fake.requests) == 4
        async with core.db.read() as conn:
            rows = await conn.execute(
                sa.select(answers.c.user_id, grades.c.grader, grades.c.provisional, grades.c.score)
                .select_from(answers.join(grades, grades.c.answer_id == answers.c.id))
                .order_by(answers.c.user_id)
            )
            found = [(r.user_id, r.grader, r.provisional, r.score) for r in rows]
        assert [f[:3] for f in found] == [("u1", "llm", False), ("u2", "offline", True)]
        assert all(0 <= f[3] <= 10 for f in found)
    finally:
        await grader.aclose()
