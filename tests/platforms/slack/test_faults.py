"""Fault suite, Slack over HTTP in-process (the real AsyncApp, signed requests, the fake Web
API): F3 redeliveries, two of them concurrent; F8 a full disk and a read-only database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import Core
from bot.store.tables import answers, grades
from testing.invariants import half_written
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


class SqliteFault:
    """A storage fault SQLite itself raises, on every connection the engine opens while it
    is on: `full` (max_page_count pinned at the current size: SQLITE_FULL, "database or
    disk is full", as on a full disk) or `read-only` (query_only: SQLITE_READONLY, as for a
    read-only file, which chmod cannot make for root)."""

    def __init__(self, core: Core, kind: str) -> None:
        self.core = core
        self.kind = kind
        self.on = False
        sa.event.listen(core.db.engine.sync_engine, "connect", self._apply)

    def _apply(self, dbapi_connection: Any, _record: Any) -> None:
        if not self.on:
            return
        cursor = dbapi_connection.cursor()
        if self.kind == "full":
            cursor.execute("VACUUM")  # no free pages left for a new row to reuse
            cursor.execute("PRAGMA page_count")
            pages = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA max_page_count = {pages}")
        else:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    async def switch(self, on: bool) -> None:
        self.on = on
        await self.core.db.engine.dispose()  # every connection from now on has it, or not


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("kind", ["full", "read-only"])
async def test_f8_a_storage_fault_acks_nothing_half_writes_nothing_and_the_retry_stores(
    slack: Factory, kind: str
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    fault = SqliteFault(h.core, kind)
    await fault.switch(True)
    # 3,900 characters: the row needs pages the full database cannot have
    long = (ANSWER + " ") * 26
    bodies = [
        p.thread_reply("T1", "C1", f"U{n}", daily.message_id, h.next_ts(), long[:3900], h.next_id())
        for n in (1, 2)
    ]
    during = [await h.event(body) for body in bodies]
    assert all(s.seconds < 3.0 for s in during)
    assert 500 in {s.status for s in during} <= {200, 500}  # the fault was met
    await fault.switch(False)
    assert await half_written(h.core.db) == []
    async with h.core.db.read() as conn:
        committed = {r.user_id for r in await conn.execute(sa.select(answers))}
    acked = {f"U{n}" for n, s in zip((1, 2), during, strict=True) if s.status == 200}
    assert committed == acked  # acknowledged exactly when committed
    for body, sent in zip(bodies, during, strict=True):
        if sent.status != 200:  # Slack redelivers what it did not see acknowledged
            assert (await h.event(body, **{"X-Slack-Retry-Num": "1"})).status == 200
    await h.core.grading.drain()
    async with h.core.db.read() as conn:
        stored = list(await conn.execute(sa.select(answers)))
    assert sorted(r.user_id for r in stored) == ["U1", "U2"]
    assert {r.status for r in stored} == {"graded"}
    assert await half_written(h.core.db) == []
