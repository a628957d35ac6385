"""Dailies: reserved, posted, closed and revealed, each step under the reserve-once primitive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.picker import Asked
from bot.store.coalesce import SingleFlight
from bot.store.counted import counted
from bot.store.db import Database
from bot.store.group import GroupWriter
from bot.store.reserve import Work
from bot.store.rows import DailyRow, ResultRow
from bot.store.tables import answers, channels, dailies, users, workspaces
from bot.store.tenancy import DAILY_CHANNEL, live

#: A post: reserved under (workspace, channel, local date, slot) as a `reserved` daily, its
#: send lease in `send_started_at`, confirmed `posted` with the platform's message id.
POSTS = Work(
    name="post",
    table=dailies,
    done=dailies.c.status != "reserved",
    lease=dailies.c.send_started_at,
    confirm=("status", "message_id", "posted_at"),
    owner=dailies.c.lease_owner,
)
#: A reveal: reserved by closing the daily (`posted` -> `closed`, its lease in
#: `reveal_started_at`), confirmed in `revealed_at`. A failed reveal is owed once its lease
#: lapsed (a reveal is one call: its lease is never renewed).
REVEALS = Work(
    name="reveal",
    table=dailies,
    done=dailies.c.revealed_at.is_not(None),
    lease=dailies.c.reveal_started_at,
    confirm=("revealed_at",),
)


class Dailies:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._confirmations: GroupWriter[Mapping[str, Any]] = GroupWriter(db, POSTS.confirm_many)
        self._by_message: SingleFlight[tuple[str, str], DailyRow | None] = SingleFlight(
            lambda key: self._one(dailies.c.workspace_id == key[0], dailies.c.message_id == key[1])
        )

    # -- posts ------------------------------------------------------------------------------

    async def reserved_slots(self, since: datetime) -> set[tuple[str, str, str, str]]:
        """(workspace, channel, local date, slot) of every daily scheduled since `since`."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(
                    dailies.c.workspace_id,
                    dailies.c.channel_id,
                    dailies.c.local_date,
                    dailies.c.slot,
                ).where(dailies.c.scheduled_at >= since)
            )
            return {(r[0], r[1], r[2], r[3]) for r in rows}

    async def owed_posts(
        self,
        platforms: Sequence[str],
        scheduled_since: datetime,
        lease_before: datetime,
        workspace_ids: Sequence[str] | None = None,
    ) -> list[DailyRow]:
        """Reserved posts never confirmed, still within the catch-up window, whose send lease
        has lapsed (nobody is sending them now); only these workspaces' when given."""
        query = (
            POSTS.owed(dailies.c.scheduled_at >= scheduled_since, lease_before=lease_before)
            .join(channels, DAILY_CHANNEL)
            .join(workspaces, workspaces.c.id == dailies.c.workspace_id)
            .where(*live(platforms))
        )
        if workspace_ids is not None:
            query = query.where(dailies.c.workspace_id.in_(list(workspace_ids)))
        async with self.db.read() as conn:
            return [DailyRow.of(r) for r in await conn.execute(query)]

    async def take_post(
        self, daily_id: int, now: datetime, lease_before: datetime, owner: str | None = None
    ) -> bool:
        """Take the send lease of an owed post; False when someone holds a fresh one."""
        async with self.db.write() as conn:
            return await POSTS.take(conn, dailies.c.id == daily_id, now, lease_before, owner)

    async def renew_posts(self, owner: str, now: datetime) -> int:
        """Renew the send leases of the posts `owner` is sending."""
        async with self.db.write() as conn:
            return await POSTS.renew(conn, owner, now)

    async def drop_post_lease(self, daily_id: int) -> None:
        """A send that failed is no longer renewed: its lease lapses and a later tick (of any
        process) tries it again."""
        async with self.db.write() as conn:
            await conn.execute(
                dailies.update().where(dailies.c.id == daily_id).values(lease_owner=None)
            )

    async def asked_since(
        self, since: datetime, workspace_id: str, channel_id: str | None = None
    ) -> dict[tuple[str, str], list[Asked]]:
        """Which questions each channel of the workspace (or only `channel_id`) was asked since
        `since`, by (workspace, channel): one query for a workspace's whole fan-out."""
        conditions = [dailies.c.scheduled_at >= since, dailies.c.workspace_id == workspace_id]
        if channel_id is not None:
            conditions.append(dailies.c.channel_id == channel_id)
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(
                    dailies.c.workspace_id,
                    dailies.c.channel_id,
                    dailies.c.question_id,
                    dailies.c.scheduled_at,
                ).where(*conditions)
            )
            asked: dict[tuple[str, str], list[Asked]] = {}
            for r in rows:
                asked.setdefault((r.workspace_id, r.channel_id), []).append(
                    Asked(r.question_id, r.scheduled_at)
                )
        return asked

    async def reserve_posts(self, posts: Iterable[Mapping[str, Any]]) -> list[DailyRow]:
        """Reserve posts (daily rows with status `reserved`), all in one transaction; a slot
        reserved by another run first is left out."""
        rows = list(posts)
        if not rows:
            return []
        async with self.db.write() as conn:
            won = await POSTS.reserve_many(conn, self.db, rows)
        return sorted((DailyRow.of(r) for r in won), key=lambda d: d.id)

    async def confirm_post(self, daily_id: int, message_id: str, at: datetime) -> None:
        """Mark a reserved daily posted; concurrent confirmations share one transaction."""
        await self._confirmations.submit(
            {"id": daily_id, "status": "posted", "message_id": message_id, "posted_at": at}
        )

    # -- lookups ----------------------------------------------------------------------------

    async def get(self, workspace_id: str, daily_id: int) -> DailyRow | None:
        return await self._one(dailies.c.workspace_id == workspace_id, dailies.c.id == daily_id)

    async def by_message(self, workspace_id: str, message_id: str) -> DailyRow | None:
        """The daily posted as this message (a thread's parent); concurrent lookups of one
        thread share a query."""
        return await self._by_message.get((workspace_id, message_id))

    async def _one(self, *where: sa.ColumnElement[bool]) -> DailyRow | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(dailies).where(*where))).first()
        return DailyRow.of(row) if row else None

    async def _where(self, *where: sa.ColumnElement[bool]) -> list[DailyRow]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(dailies).where(*where).order_by(dailies.c.id))
            return [DailyRow.of(r) for r in rows]

    async def posted_in(self, workspace_id: str, channel_id: str) -> list[DailyRow]:
        """The channel's posted (not yet closed) dailies, oldest first."""
        return await self._where(
            dailies.c.workspace_id == workspace_id,
            dailies.c.channel_id == channel_id,
            dailies.c.status == "posted",
        )

    async def recent_threads(
        self, workspace_ids: Iterable[str], closes_since: datetime
    ) -> list[DailyRow]:
        """Posted or closed dailies of these workspaces closing since `closes_since`."""
        return await self._where(
            dailies.c.status.in_(("posted", "closed")),
            dailies.c.closes_at >= closes_since,
            dailies.c.workspace_id.in_(list(workspace_ids)),
        )

    # -- close and reveal -------------------------------------------------------------------

    async def to_close(
        self, now: datetime, channel: tuple[str, str] | None, force: bool
    ) -> list[DailyRow]:
        """Posted dailies past their window (or every posted one of `channel` when forced)."""
        conditions = [dailies.c.status == "posted"]
        if not force:
            conditions.append(dailies.c.closes_at <= now)
        if channel is not None:
            conditions += [
                dailies.c.workspace_id == channel[0],
                dailies.c.channel_id == channel[1],
            ]
        return await self._where(*conditions)

    async def close(self, daily_id: int, now: datetime) -> list[ResultRow] | None:
        """Close a posted daily (reserving its reveal) and read its answers, in one
        transaction; None when someone else closed it first."""
        async with self.db.write() as conn:
            won = await REVEALS.move(
                conn,
                [dailies.c.id == daily_id, dailies.c.status == "posted"],
                {"status": "closed", "closed_at": now, "reveal_started_at": now},
            )
            if not won:
                return None
            return await _results(conn, daily_id)

    async def owed_reveals(
        self, closed_since: datetime, now: datetime, lease_before: datetime
    ) -> list[DailyRow]:
        """Reveals that failed after their close and whose lease lapsed, for a retry."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                REVEALS.owed(
                    dailies.c.status == "closed",
                    dailies.c.closed_at >= closed_since,
                    dailies.c.closed_at < now,
                    lease_before=lease_before,
                )
            )
            return [DailyRow.of(r) for r in rows]

    async def drop_reveal_lease(self, daily_id: int) -> None:
        """A reveal that failed is owed again at once (the next tick of any process)."""
        async with self.db.write() as conn:
            await conn.execute(
                dailies.update().where(dailies.c.id == daily_id).values(reveal_started_at=None)
            )

    async def take_reveal(self, daily_id: int, now: datetime, lease_before: datetime) -> bool:
        """Take an owed reveal's lease; False when another process retries it now."""
        async with self.db.write() as conn:
            return await REVEALS.take(conn, dailies.c.id == daily_id, now, lease_before)

    async def results(self, daily_id: int) -> list[ResultRow]:
        async with self.db.read() as conn:
            return await _results(conn, daily_id)

    async def confirm_reveal(self, daily_id: int, now: datetime) -> None:
        async with self.db.write() as conn:
            await REVEALS.confirm_many(conn, [{"id": daily_id, "revealed_at": now}])


async def _results(conn: Any, daily_id: int) -> list[ResultRow]:
    """Every counted answer of a daily (a floored one is not listed) with its grade and the
    user's name and privacy, best first."""
    query = (
        sa.select(
            answers.c.user_id,
            answers.c.kind,
            answers.c.status,
            answers.c.score,
            answers.c.text,
            answers.c.answered_at,
            users.c.name,
            users.c.privacy,
        )
        .join(
            users,
            sa.and_(
                users.c.workspace_id == answers.c.workspace_id, users.c.id == answers.c.user_id
            ),
            isouter=True,
        )
        .where(answers.c.daily_id == daily_id, counted())
        .order_by(answers.c.score.desc().nulls_last(), answers.c.answered_at)
    )
    return [ResultRow.of(r) for r in await conn.execute(query)]
