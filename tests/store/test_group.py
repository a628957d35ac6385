"""Group commit: concurrent writes share transactions, and every caller learns the outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database
from bot.store.group import GroupWriter
from bot.store.tables import events

NOW = datetime(2026, 11, 23, tzinfo=UTC)


async def test_concurrent_items_are_batched_and_all_committed(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    await db.migrate()
    batches: list[int] = []

    async def apply(conn: AsyncConnection, keys: list[str]) -> None:
        batches.append(len(keys))
        await conn.execute(
            events.insert(), [{"workspace_id": "w", "key": k, "seen_at": NOW} for k in keys]
        )

    writer: GroupWriter[str] = GroupWriter(db, apply)
    await asyncio.gather(*(writer.submit(f"k{i}") for i in range(50)))
    async with db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(events)) == 50
    assert sum(batches) == 50 and len(batches) < 50
    await db.close()


async def test_a_failed_batch_fails_each_of_its_callers(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    await db.migrate()

    async def apply(conn: AsyncConnection, items: list[int]) -> None:
        raise RuntimeError("disk full")

    writer: GroupWriter[int] = GroupWriter(db, apply)
    results = await asyncio.gather(*(writer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await writer.submit(4)
    await db.close()
