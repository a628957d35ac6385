"""Reserve once: a post is reserved under its natural key by one caller, is owed when its lease
lapses unconfirmed, is taken over by one caller, and is done once confirmed; concurrent reads of
one daily share a query."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store.dailies import Dailies
from bot.store.db import Database
from bot.store.tenancy import Tenancy

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def post(slot: str = "09:00") -> dict[str, Any]:
    return {
        "workspace_id": "T1",
        "channel_id": "C1",
        "question_id": "q1",
        "local_date": "2026-11-23",
        "slot": slot,
        "kind": "scheduled",
        "status": "reserved",
        "send_started_at": NOW,
        "scheduled_at": NOW,
        "closes_at": NOW + timedelta(hours=24),
    }


async def setup(db: Database) -> Dailies:
    tenancy = Tenancy(db)
    await tenancy.ensure_workspace("T1", "test", "", "UTC", NOW)
    await tenancy.ensure_channel("T1", "C1", name="c1", cron="0 9 * * *", timezone="UTC", now=NOW)
    return Dailies(db)


async def test_one_reservation_per_natural_key(db: Database) -> None:
    dailies = await setup(db)
    won = await asyncio.gather(*(dailies.reserve_posts([post()]) for _ in range(5)))
    assert sorted(len(w) for w in won) == [0, 0, 0, 0, 1]
    assert len(await dailies.reserve_posts([post(), post("13:00")])) == 1  # only the new slot


async def test_an_unconfirmed_post_is_owed_once_its_lease_lapses(db: Database) -> None:
    dailies = await setup(db)
    [daily] = await dailies.reserve_posts([post()])
    lease = timedelta(minutes=2)
    fresh = NOW + timedelta(minutes=1)
    assert await dailies.owed_posts(["test"], NOW - timedelta(hours=3), fresh - lease) == []
    later = NOW + timedelta(minutes=3)
    [owed] = await dailies.owed_posts(["test"], NOW - timedelta(hours=3), later - lease)
    assert owed.id == daily.id
    takers = await asyncio.gather(
        *(dailies.take_post(daily.id, later, later - lease) for _ in range(3))
    )
    assert sorted(takers) == [False, False, True]  # the new lease keeps the others out
    await dailies.confirm_post(daily.id, "m1", later)
    much_later = later + timedelta(hours=1)
    assert await dailies.owed_posts(["test"], NOW - timedelta(hours=3), much_later) == []
    assert not await dailies.take_post(daily.id, much_later, much_later - lease)  # done


async def test_a_failed_reveal_stays_owed_until_confirmed(db: Database) -> None:
    dailies = await setup(db)
    [daily] = await dailies.reserve_posts([post()])
    await dailies.confirm_post(daily.id, "m1", NOW)
    closed_at = NOW + timedelta(hours=24)
    assert await dailies.close(daily.id, closed_at) == []  # reserved: closed, no answers
    assert await dailies.close(daily.id, closed_at) is None  # nobody closes it twice
    after = closed_at + timedelta(minutes=1)
    [owed] = await dailies.owed_reveals(after - timedelta(days=1), after)
    assert owed.id == daily.id
    await dailies.confirm_reveal(daily.id, after)
    assert await dailies.owed_reveals(after - timedelta(days=1), after) == []


async def test_concurrent_lookups_of_one_thread_share_a_query(db: Database) -> None:
    dailies = await setup(db)
    [daily] = await dailies.reserve_posts([post()])
    await dailies.confirm_post(daily.id, "m1", NOW)
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        found = await asyncio.gather(*(dailies.by_message("T1", "m1") for _ in range(20)))
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert {d.id for d in found if d} == {daily.id}
    assert len(statements) == 1
