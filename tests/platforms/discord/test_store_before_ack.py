"""Finding 2a on Discord: a form submission or an MCQ click is committed before the
interaction is deferred (Discord never resends an interaction it saw acknowledged)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.store.tables import answers
from testing.polling import eventually
from tests.platforms.discord.conftest import GOOD_ANSWER, MCQ, Harness

pytestmark = pytest.mark.audit


async def _answers_at_callback(harness: Harness) -> dict[int, set[str]]:
    """Per interaction: the (user, source) of every stored answer when its callback came."""
    seen: dict[int, set[str]] = {}

    async def snapshot(interaction_id: int) -> None:
        async with harness.db.read() as conn:
            rows = await conn.execute(sa.select(answers.c.user_id, answers.c.source))
            seen[interaction_id] = {f"{r.user_id}:{r.source}" for r in rows}

    harness.fake.on_callback = snapshot
    return seen


async def test_a_form_answer_is_committed_before_the_deferral(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    seen = await _answers_at_callback(harness)
    submit = await harness.fake.submit(
        harness.alice, message, f"drill:form:{daily.id}", GOOD_ANSWER
    )
    await eventually(lambda: len(harness.fake.replies(submit)) >= 2, within=20)
    assert harness.fake.callbacks[int(submit["id"])][0]["type"] == 6  # deferred update
    assert f"{harness.alice['id']}:form" in seen[int(submit["id"])]


async def test_an_mcq_click_is_committed_before_the_deferral(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily(MCQ)
    message = harness.daily_message(daily)
    seen = await _answers_at_callback(harness)
    click = await harness.fake.click(harness.alice, message, f"drill:choice:{daily.id}:B")
    await eventually(lambda: harness.fake.replies(click), within=20)
    assert f"{harness.alice['id']}:choice" in seen[int(click["id"])]
