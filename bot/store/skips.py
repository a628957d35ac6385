"""Skipped dates of drill channels: the admin's `/drill skip` dates, stored, and the
channel's public holidays, computed (docs/design.md "Skip dates and holidays")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.calendar import skipped
from bot.store.db import Database
from bot.store.tables import channels, skip_dates

Key = tuple[str, str]


async def skipped_dates(
    conn: AsyncConnection, keys: Iterable[Key], start: date, end: date
) -> dict[Key, set[date]]:
    """Per (workspace, channel): its skipped dates between `start` and `end` (included)."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    pairs = sa.tuple_(skip_dates.c.workspace_id, skip_dates.c.channel_id).in_(wanted)
    manual: dict[Key, list[date]] = {k: [] for k in wanted}
    for r in await conn.execute(
        sa.select(
            skip_dates.c.workspace_id, skip_dates.c.channel_id, skip_dates.c.local_date
        ).where(
            pairs,
            skip_dates.c.local_date >= start.isoformat(),
            skip_dates.c.local_date <= end.isoformat(),
        )
    ):
        manual[(r.workspace_id, r.channel_id)].append(date.fromisoformat(r.local_date))
    codes = {
        (r.workspace_id, r.id): r.holidays
        for r in await conn.execute(
            sa.select(channels.c.workspace_id, channels.c.id, channels.c.holidays).where(
                sa.tuple_(channels.c.workspace_id, channels.c.id).in_(wanted)
            )
        )
    }
    return {k: skipped(manual[k], codes.get(k), start, end) for k in wanted}


class Skips:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, workspace_id: str, channel_id: str, dates: list[date], by: str, now: datetime
    ) -> int:
        """Skip these dates (all in one statement); how many were new."""
        async with self.db.write() as conn:
            added = await conn.execute(
                self.db.insert_ignore(skip_dates),
                [
                    {
                        "workspace_id": workspace_id,
                        "channel_id": channel_id,
                        "local_date": d.isoformat(),
                        "created_by": by,
                        "created_at": now,
                    }
                    for d in dates
                ],
            )
        return max(int(added.rowcount), 0)

    async def clear(self, workspace_id: str, channel_id: str, day: date) -> bool:
        async with self.db.write() as conn:
            gone = await conn.execute(
                skip_dates.delete().where(
                    skip_dates.c.workspace_id == workspace_id,
                    skip_dates.c.channel_id == channel_id,
                    skip_dates.c.local_date == day.isoformat(),
                )
            )
        return bool(gone.rowcount)

    async def between(self, keys: Iterable[Key], start: date, end: date) -> dict[Key, set[date]]:
        async with self.db.read() as conn:
            return await skipped_dates(conn, keys, start, end)

    async def manual(self, workspace_id: str, channel_id: str, since: date) -> list[date]:
        """The admin's skipped dates from `since` on, in order."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(skip_dates.c.local_date)
                .where(
                    skip_dates.c.workspace_id == workspace_id,
                    skip_dates.c.channel_id == channel_id,
                    skip_dates.c.local_date >= since.isoformat(),
                )
                .order_by(skip_dates.c.local_date)
            )
            return [date.fromisoformat(r.local_date) for r in rows]
