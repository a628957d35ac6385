"""Workspaces, channels, users, idempotency keys and once-only admin notices.

Every query filters on `workspace_id`: no query ever mixes two workspaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database
from bot.store.rows import ChannelRow
from bot.store.tables import channels, dailies, events, notices, users, workspaces

#: How a daily joins its channel (a channel id is unique only within its workspace).
DAILY_CHANNEL = sa.and_(
    channels.c.workspace_id == dailies.c.workspace_id,
    channels.c.id == dailies.c.channel_id,
)


def live(platforms: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    """Conditions of a channel this process posts to: active, not paused, in an active
    workspace of a platform it serves (a console workspace left in a shared database is not
    the Slack process's to post)."""
    return [
        channels.c.active,
        sa.not_(channels.c.paused),
        workspaces.c.active,
        workspaces.c.platform.in_(platforms),
    ]


async def record_event(
    conn: AsyncConnection, db: Database, workspace_id: str, key: str, now: datetime
) -> bool:
    """Record an idempotency key; False when it was seen before."""
    seen = await conn.execute(
        db.insert_ignore(events).values(workspace_id=workspace_id, key=key, seen_at=now)
    )
    return bool(seen.rowcount)


class Tenancy:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_workspace(
        self, workspace_id: str, platform: str, name: str, timezone: str, now: datetime
    ) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                self.db.insert_ignore(workspaces).values(
                    id=workspace_id, platform=platform, name=name, timezone=timezone, created_at=now
                )
            )

    async def set_workspace_active(self, workspace_id: str, active: bool) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                workspaces.update().where(workspaces.c.id == workspace_id).values(active=active)
            )

    async def platform_of(self, workspace_id: str) -> str | None:
        async with self.db.read() as conn:
            return await conn.scalar(
                sa.select(workspaces.c.platform).where(workspaces.c.id == workspace_id)
            )

    async def timezone_of(self, workspace_id: str) -> str | None:
        async with self.db.read() as conn:
            return await conn.scalar(
                sa.select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)
            )

    async def ensure_channel(
        self,
        workspace_id: str,
        channel_id: str,
        *,
        name: str,
        cron: str | None,
        timezone: str,
        now: datetime,
    ) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                self.db.insert_ignore(channels).values(
                    workspace_id=workspace_id,
                    id=channel_id,
                    name=name,
                    cron=cron,
                    timezone=timezone,
                    topics=[],
                    difficulty="mixed",
                    feedback="private",
                    schedule_since=now,
                    created_at=now,
                )
            )

    async def channel(self, workspace_id: str, channel_id: str) -> ChannelRow | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(channels).where(
                        channels.c.workspace_id == workspace_id, channels.c.id == channel_id
                    )
                )
            ).first()
        return ChannelRow.of(row) if row else None

    async def drill_channels(self, workspace_id: str, limit: int) -> list[ChannelRow]:
        """The workspace's channels with a schedule, by name."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(channels)
                .where(channels.c.workspace_id == workspace_id, channels.c.cron.is_not(None))
                .order_by(channels.c.name, channels.c.id)
                .limit(limit)
            )
            return [ChannelRow.of(r) for r in rows]

    async def scheduled_channels(self, platforms: Sequence[str]) -> list[ChannelRow]:
        """Channels whose schedule runs now."""
        query = (
            sa.select(channels)
            .join(workspaces, workspaces.c.id == channels.c.workspace_id)
            .where(channels.c.cron.is_not(None), *live(platforms))
        )
        async with self.db.read() as conn:
            return [ChannelRow.of(r) for r in await conn.execute(query)]

    async def update_channel(self, workspace_id: str, channel_id: str, **values: Any) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                channels.update()
                .where(channels.c.workspace_id == workspace_id, channels.c.id == channel_id)
                .values(**values)
            )

    async def notice_once(
        self, workspace_id: str, channel_id: str, kind: str, now: datetime
    ) -> bool:
        """Record that an admin is told `kind` about this channel; False when told before."""
        async with self.db.write() as conn:
            fresh = await conn.execute(
                self.db.insert_ignore(notices).values(
                    workspace_id=workspace_id, channel_id=channel_id, kind=kind, sent_at=now
                )
            )
        return bool(fresh.rowcount)

    async def record_event(
        self, workspace_id: str, user_id: str, name: str, key: str, now: datetime
    ) -> bool:
        """Record an event key and its user; False when this event was seen before."""
        async with self.db.write() as conn:
            if not await record_event(conn, self.db, workspace_id, key, now):
                return False
            await conn.execute(
                self.db.insert_ignore(users).values(
                    workspace_id=workspace_id, id=user_id, name=name
                )
            )
        return True

    async def first_time(self, workspace_id: str, key: str, now: datetime) -> bool:
        """Reply dedupe: True the first time `key` is seen (its reply is sent once)."""
        async with self.db.write() as conn:
            return await record_event(conn, self.db, workspace_id, key, now)

    async def forget_events(self, before: datetime) -> None:
        async with self.db.write() as conn:
            await conn.execute(events.delete().where(events.c.seen_at < before))

    async def set_privacy(self, workspace_id: str, user_id: str, mode: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                users.update()
                .where(users.c.workspace_id == workspace_id, users.c.id == user_id)
                .values(privacy=mode)
            )
