"""The cost guard's ledger: units spent per user and platform (docs/design.md "Grades").

A unit is spent only under the user's budget lock, in the transaction that does what it pays
for (stores the answer, marks the regrade), so two concurrent requests never both take the last
unit, and a refused request leaves nothing behind. On SQLite the process's single writer is the
lock; on PostgreSQL a transaction-scoped advisory lock per user, always taken in one order.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.costs import Charge, Over, frees_at
from bot.store.db import Database
from bot.store.tables import units, workspaces

#: The advisory lock class of budget locks (the first key of PostgreSQL's two-key form).
_LOCK_CLASS = 0x0C057


def _platform(workspace_id: str) -> sa.ColumnElement[str]:
    """The workspace's platform (a budget spans a platform's workspaces); the workspace id
    itself for a workspace not registered (then the budget is that workspace's)."""
    return sa.func.coalesce(
        sa.select(workspaces.c.platform)
        .where(workspaces.c.id == workspace_id)
        .scalar_subquery(),
        workspace_id,
    )


def _lock_key(user_id: str) -> int:
    return zlib.crc32(user_id.encode()) - 2**31  # a signed 32-bit key


async def lock_budgets(conn: AsyncConnection, user_ids: Iterable[str]) -> None:
    """Hold these users' budgets until the transaction ends (PostgreSQL; SQLite's writer lock
    already serialises writes). Call it before the transaction writes anything: locks taken in
    one sorted order before any row lock cannot deadlock."""
    if conn.dialect.name != "postgresql":
        return
    for key in sorted({_lock_key(u) for u in user_ids}):
        await conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS, key))
        )


async def spend(conn: AsyncConnection, charge: Charge, answer_id: int | None = None) -> Over | None:
    """Spend the charge's unit if the budget has room (None), else charge nothing (`Over`).
    The caller holds the user's budget lock (`lock_budgets`)."""
    platform = _platform(charge.workspace_id)
    spent = list(
        (
            await conn.execute(
                sa.select(units.c.at).where(
                    units.c.platform == platform,
                    units.c.user_id == charge.user_id,
                    units.c.at > charge.since,
                )
            )
        ).scalars()
    )
    if len(spent) >= charge.limit:
        return Over(frees_at(spent, charge.limit, charge.at))
    await conn.execute(
        units.insert().values(
            platform=platform,
            user_id=charge.user_id,
            workspace_id=charge.workspace_id,
            unit=charge.unit,
            answer_id=answer_id,
            at=charge.at,
        )
    )
    return None


class Units:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def spend(self, charge: Charge) -> Over | None:
        """Spend one unit in a transaction of its own (an LLM hint or follow-up question)."""
        async with self.db.write() as conn:
            await lock_budgets(conn, [charge.user_id])
            return await spend(conn, charge)

    async def spent_at(self, workspace_id: str, user_id: str, since: datetime) -> list[datetime]:
        """When the user's units on this workspace's platform were spent since `since`."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(units.c.at).where(
                    units.c.platform == _platform(workspace_id),
                    units.c.user_id == user_id,
                    units.c.at > since,
                )
            )
            return list(rows.scalars())

    async def forget_before(self, before: datetime) -> None:
        """Units older than the window count for nothing any more."""
        async with self.db.write() as conn:
            await conn.execute(units.delete().where(units.c.at <= before))
