"""Fault suite, Slack over HTTP in-process (the real AsyncApp, signed requests, the fake Web
API): F3 redeliveries, two of them concurrent."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from bot.store.tables import answers, grades
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory

pytestmark = pytest.mark.audit

ANSWER = (
    "A hash index gives O(1) point lookups but no range scans; a B-tree keeps keys sorted, "
    "so it serves ranges and ordering at O(log n)."
)


async def test_f3_four_deliveries_two_concurrent_give_one_answer_grade_and_reply(
    slack: Factory,
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    body = p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), ANSWER, h.next_id())

    def retry(n: int) -> dict[str, str]:
        return {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} if n else {}

    together = await asyncio.gather(h.event(body, **retry(0)), h.event(body, **retry(1)))
    later = [await h.event(body, **retry(n)) for n in (2, 3)]
    assert [s.status for s in (*together, *later)] == [200] * 4
    await eventually(lambda: h.fake.ephemerals("T1", "U1"))
    await h.core.grading.drain()
    async with h.core.db.read() as conn:
        stored = list(await conn.execute(sa.select(answers)))
        graded = list(await conn.execute(sa.select(grades)))
    assert len(stored) == 1 and len(graded) == 1
    assert len(h.fake.ephemerals("T1", "U1")) == 1  # one feedback message
    assert len(h.fake.called("reactions.add")) == 1
