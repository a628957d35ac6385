"""What is derived from stored answers: streak histories, leaderboards, a user's export, and
forgetting a user."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.streaks import Day
from bot.store.counted import counted
from bot.store.db import Database
from bot.store.rows import BoardRow
from bot.store.skips import skipped_dates
from bot.store.tables import (
    answers,
    dailies,
    grades,
    mock_items,
    mock_sessions,
    practice,
    reviews,
    rubrics,
    self_checks,
    units,
    users,
)


async def streak_days(
    conn: AsyncConnection,
    workspace_id: str,
    channel_id: str,
    user_ids: Iterable[str],
    until: date | None = None,
) -> dict[str, list[Day]]:
    """Per user: the channel's days with a posted daily (up to `until`) and whether the user
    answered one of each day's dailies in time (a floored answer is no answer). Two grouped
    queries for any number of users."""
    conditions = [
        dailies.c.workspace_id == workspace_id,
        dailies.c.channel_id == channel_id,
        dailies.c.status.in_(("posted", "closed")),
    ]
    if until is not None:
        conditions.append(dailies.c.local_date <= until.isoformat())
    days = (
        await conn.execute(
            sa.select(
                dailies.c.local_date,
                sa.func.max(sa.case((dailies.c.kind == "scheduled", 1), else_=0)).label("sched"),
                sa.func.max(sa.case((dailies.c.status == "posted", 1), else_=0)).label("open"),
            )
            .where(*conditions)
            .group_by(dailies.c.local_date)
            .order_by(dailies.c.local_date)
        )
    ).all()
    wanted = list(set(user_ids))
    answered: dict[str, set[str]] = {u: set() for u in wanted}
    for r in await conn.execute(
        sa.select(answers.c.user_id, dailies.c.local_date)
        .distinct()
        .join(dailies, dailies.c.id == answers.c.daily_id)
        .where(*conditions, answers.c.user_id.in_(wanted), counted())
    ):
        answered[r.user_id].add(r.local_date)
    skips: set[date] = set()
    if days:
        first, last = (
            date.fromisoformat(days[0].local_date),
            date.fromisoformat(days[-1].local_date),
        )
        key = (workspace_id, channel_id)
        skips = (await skipped_dates(conn, [key], first, last))[key]
    # A daily posted on a date skipped afterwards (skipping today) counts like an extra: it
    # extends a streak when answered and never breaks one.
    return {
        user: [
            Day(
                date.fromisoformat(d.local_date),
                bool(d.sched) and date.fromisoformat(d.local_date) not in skips,
                d.local_date in mine,
                bool(d.open),
            )
            for d in days
        ]
        for user, mine in answered.items()
    }


async def board(
    conn: AsyncConnection,
    workspace_id: str,
    channel_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[BoardRow]:
    """Points per user over counted (on-time, not floored) daily answers, best first; ties: who
    reached it first."""
    conditions = [
        answers.c.workspace_id == workspace_id,
        counted(),
        answers.c.points.is_not(None),
    ]
    if channel_id is not None:
        conditions.append(answers.c.channel_id == channel_id)
    if start is not None:
        conditions.append(answers.c.answered_at >= start)
    if end is not None:
        conditions.append(answers.c.answered_at < end)
    totals = (
        sa.select(
            answers.c.user_id,
            sa.func.sum(answers.c.points).label("points"),
            sa.func.count().label("answers"),
            sa.func.max(answers.c.answered_at).label("last"),
        )
        .where(*conditions)
        .group_by(answers.c.user_id)
        .subquery()
    )
    query = (
        sa.select(totals, users.c.name, users.c.privacy)
        .join(
            users,
            sa.and_(users.c.workspace_id == workspace_id, users.c.id == totals.c.user_id),
            isouter=True,
        )
        .order_by(totals.c.points.desc(), totals.c.last, totals.c.user_id)
    )
    return [BoardRow.of(r) for r in await conn.execute(query)]


class Boards:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def streak_days(self, workspace_id: str, channel_id: str, user_id: str) -> list[Day]:
        async with self.db.read() as conn:
            return (await streak_days(conn, workspace_id, channel_id, [user_id]))[user_id]

    async def board(
        self,
        workspace_id: str,
        channel_id: str | None,
        start: datetime | None,
        end: datetime | None,
    ) -> list[BoardRow]:
        async with self.db.read() as conn:
            return await board(conn, workspace_id, channel_id, start, end)

    async def export(self, workspace_id: str, user_id: str) -> dict[str, Any]:
        """Every row about one user in one workspace, as plain JSON-able data."""

        def rows(result: Any) -> list[dict[str, Any]]:
            return [
                {
                    k: (v.isoformat() if isinstance(v, datetime) else v)
                    for k, v in r._mapping.items()
                }
                for r in result
            ]

        mine = (answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
        sessions = sa.select(mock_sessions.c.id).where(
            mock_sessions.c.workspace_id == workspace_id, mock_sessions.c.user_id == user_id
        )
        async with self.db.read() as conn:
            return {
                "workspace_id": workspace_id,
                "user_id": user_id,
                "profile": rows(
                    await conn.execute(
                        sa.select(users).where(
                            users.c.workspace_id == workspace_id, users.c.id == user_id
                        )
                    )
                ),
                "answers": rows(
                    await conn.execute(
                        sa.select(answers, grades.c.detail.label("grade"))
                        .join(grades, grades.c.answer_id == answers.c.id, isouter=True)
                        .where(*mine)
                        .order_by(answers.c.id)
                    )
                ),
                "rubrics": rows(
                    await conn.execute(
                        sa.select(rubrics).where(
                            rubrics.c.workspace_id == workspace_id,
                            rubrics.c.id.in_(sa.select(answers.c.rubric_id).where(*mine)),
                        )
                    )
                ),
                "reviews": rows(
                    await conn.execute(
                        sa.select(reviews).where(
                            reviews.c.workspace_id == workspace_id, reviews.c.user_id == user_id
                        )
                    )
                ),
                "self_checks": rows(
                    await conn.execute(
                        sa.select(self_checks)
                        .where(
                            self_checks.c.workspace_id == workspace_id,
                            self_checks.c.user_id == user_id,
                        )
                        .order_by(self_checks.c.answer_id)
                    )
                ),
                "mock_sessions": rows(
                    await conn.execute(
                        sa.select(mock_sessions).where(mock_sessions.c.id.in_(sessions))
                    )
                ),
                "mock_items": rows(
                    await conn.execute(
                        sa.select(mock_items).where(mock_items.c.session_id.in_(sessions))
                    )
                ),
                # the cost guard's ledger (no text; rows leave it after 24 hours)
                "units": rows(
                    await conn.execute(
                        sa.select(units).where(
                            units.c.workspace_id == workspace_id, units.c.user_id == user_id
                        )
                    )
                ),
            }

    async def forget(self, workspace_id: str, user_id: str) -> int:
        """Delete every row of the user in this workspace; return how many answers went."""
        answer_ids = sa.select(answers.c.id).where(
            answers.c.workspace_id == workspace_id, answers.c.user_id == user_id
        )
        sessions = sa.select(mock_sessions.c.id).where(
            mock_sessions.c.workspace_id == workspace_id, mock_sessions.c.user_id == user_id
        )
        async with self.db.write() as conn:
            await conn.execute(grades.delete().where(grades.c.answer_id.in_(answer_ids)))
            await conn.execute(
                self_checks.delete().where(
                    self_checks.c.workspace_id == workspace_id, self_checks.c.user_id == user_id
                )
            )
            await conn.execute(mock_items.delete().where(mock_items.c.session_id.in_(sessions)))
            gone = await conn.execute(
                answers.delete().where(
                    answers.c.workspace_id == workspace_id, answers.c.user_id == user_id
                )
            )
            for table, key in (
                (users, users.c.id),
                (practice, practice.c.user_id),
                (reviews, reviews.c.user_id),
                (mock_sessions, mock_sessions.c.user_id),
            ):
                await conn.execute(
                    table.delete().where(table.c.workspace_id == workspace_id, key == user_id)
                )
        return int(gone.rowcount)
