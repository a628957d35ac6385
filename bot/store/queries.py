"""The SQL the engine runs, one function per question asked of the database.

Each function takes an open connection, so the caller decides the transaction: writes run
inside `Database.write()` and stay short (no grading inside), reads inside `Database.read()`.
Every query filters on `workspace_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.picker import Asked
from bot.core.streaks import Day
from bot.store.db import upsert
from bot.store.tables import (
    answers,
    channels,
    dailies,
    grades,
    mock_items,
    mock_sessions,
    practice,
    reviews,
    users,
    workspaces,
)


@dataclass(frozen=True)
class ChannelRow:
    workspace_id: str
    id: str
    name: str
    cron: str | None
    timezone: str
    topics: list[str]
    difficulty: str
    window_minutes: int | None
    feedback: str
    paused: bool
    active: bool
    schedule_since: datetime

    @classmethod
    def of(cls, row: sa.Row[Any]) -> ChannelRow:
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DailyRow:
    id: int
    workspace_id: str
    channel_id: str
    question_id: str
    local_date: str
    slot: str
    kind: str
    status: str
    scheduled_at: datetime
    posted_at: datetime | None
    closes_at: datetime
    closed_at: datetime | None
    message_id: str | None

    @classmethod
    def of(cls, row: sa.Row[Any]) -> DailyRow:
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})

    def is_open(self, now: datetime) -> bool:
        return self.status == "posted" and now < self.closes_at

    def on_time(self, at: datetime) -> bool:
        """Whether an answer sent at `at` came before this daily closed (its window's end, or
        an earlier `close-now`)."""
        if self.status not in ("posted", "closed") or at >= self.closes_at:
            return False
        return self.closed_at is None or at < self.closed_at


@dataclass(frozen=True)
class AnswerRow:
    id: int
    workspace_id: str
    channel_id: str
    daily_id: int | None
    user_id: str
    question_id: str
    kind: str
    source: str
    text: str
    message_id: str | None
    answered_at: datetime
    status: str
    attempts: int
    score: int | None
    points: int | None
    regrade_used: bool
    rubric: list[str] | None
    grade_cap: int | None
    override_by: str | None

    @classmethod
    def of(cls, row: sa.Row[Any]) -> AnswerRow:
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


# -- workspaces and channels -------------------------------------------------------------


async def workspace_timezone(conn: AsyncConnection, workspace_id: str) -> str | None:
    return await conn.scalar(
        sa.select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)
    )


async def get_channel(
    conn: AsyncConnection, workspace_id: str, channel_id: str
) -> ChannelRow | None:
    row = (
        await conn.execute(
            sa.select(channels).where(
                channels.c.workspace_id == workspace_id, channels.c.id == channel_id
            )
        )
    ).first()
    return ChannelRow.of(row) if row else None


def _live(platforms: Sequence[str]) -> list[Any]:
    """Conditions of a channel this process posts to: active, not paused, in an active
    workspace of a platform it serves (a console workspace left in a shared database is not
    the Slack process's to post)."""
    return [
        channels.c.active,
        sa.not_(channels.c.paused),
        workspaces.c.active,
        workspaces.c.platform.in_(platforms),
    ]


async def scheduled_channels(conn: AsyncConnection, platforms: Sequence[str]) -> list[ChannelRow]:
    """Channels whose schedule runs now."""
    query = (
        sa.select(channels)
        .join(workspaces, workspaces.c.id == channels.c.workspace_id)
        .where(channels.c.cron.is_not(None), *_live(platforms))
    )
    return [ChannelRow.of(r) for r in await conn.execute(query)]


async def stale_reservations(
    conn: AsyncConnection, platforms: Sequence[str], scheduled_since: datetime, lease: datetime
) -> list[DailyRow]:
    """Reserved dailies whose send never confirmed, still within the catch-up window, whose
    send lease has expired (nobody is sending them now)."""
    query = (
        sa.select(dailies)
        .join(
            channels,
            sa.and_(
                channels.c.workspace_id == dailies.c.workspace_id,
                channels.c.id == dailies.c.channel_id,
            ),
        )
        .join(workspaces, workspaces.c.id == dailies.c.workspace_id)
        .where(
            dailies.c.status == "reserved",
            dailies.c.scheduled_at >= scheduled_since,
            sa.or_(dailies.c.send_started_at.is_(None), dailies.c.send_started_at < lease),
            *_live(platforms),
        )
    )
    return [DailyRow.of(r) for r in await conn.execute(query)]


async def claim_send(conn: AsyncConnection, daily_id: int, now: datetime, lease: datetime) -> bool:
    """Take the send lease of a reserved daily; False when someone holds a fresh one."""
    won = await conn.execute(
        dailies.update()
        .where(
            dailies.c.id == daily_id,
            dailies.c.status == "reserved",
            sa.or_(dailies.c.send_started_at.is_(None), dailies.c.send_started_at < lease),
        )
        .values(send_started_at=now)
    )
    return bool(won.rowcount)


async def update_channel(
    conn: AsyncConnection, workspace_id: str, channel_id: str, **values: Any
) -> None:
    await conn.execute(
        channels.update()
        .where(channels.c.workspace_id == workspace_id, channels.c.id == channel_id)
        .values(**values)
    )


# -- dailies ------------------------------------------------------------------------------


async def reserved_slots(conn: AsyncConnection, since: datetime) -> set[tuple[str, str, str, str]]:
    """(workspace, channel, local date, slot) of every daily scheduled since `since`."""
    rows = await conn.execute(
        sa.select(
            dailies.c.workspace_id, dailies.c.channel_id, dailies.c.local_date, dailies.c.slot
        ).where(dailies.c.scheduled_at >= since)
    )
    return {tuple(r) for r in rows}  # type: ignore[misc]


async def get_daily(conn: AsyncConnection, workspace_id: str, daily_id: int) -> DailyRow | None:
    row = (
        await conn.execute(
            sa.select(dailies).where(
                dailies.c.workspace_id == workspace_id, dailies.c.id == daily_id
            )
        )
    ).first()
    return DailyRow.of(row) if row else None


async def daily_by_message(
    conn: AsyncConnection, workspace_id: str, message_id: str
) -> DailyRow | None:
    row = (
        await conn.execute(
            sa.select(dailies).where(
                dailies.c.workspace_id == workspace_id, dailies.c.message_id == message_id
            )
        )
    ).first()
    return DailyRow.of(row) if row else None


async def dailies_where(conn: AsyncConnection, *conditions: Any) -> list[DailyRow]:
    rows = await conn.execute(sa.select(dailies).where(*conditions).order_by(dailies.c.id))
    return [DailyRow.of(r) for r in rows]


async def confirm_posts(conn: AsyncConnection, posted: list[tuple[int, str, datetime]]) -> None:
    """Mark reserved dailies as posted, with the platform's message id (one statement)."""
    await conn.execute(
        dailies.update()
        .where(dailies.c.id == sa.bindparam("daily"))
        .values(status="posted", message_id=sa.bindparam("message"), posted_at=sa.bindparam("at")),
        [{"daily": d, "message": m, "at": at} for d, m, at in posted],
    )


async def asked_since(
    conn: AsyncConnection, since: datetime, only: tuple[str, str] | None = None
) -> dict[tuple[str, str], list[Asked]]:
    """Which questions each channel (or `only` that one) was asked since `since`, by
    (workspace, channel): one query for a whole fan-out instead of one per channel."""
    conditions = [dailies.c.scheduled_at >= since]
    if only is not None:
        conditions += [dailies.c.workspace_id == only[0], dailies.c.channel_id == only[1]]
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


# -- answers and grades -------------------------------------------------------------------


async def get_answer(
    conn: AsyncConnection, answer_id: int, workspace_id: str | None = None
) -> AnswerRow | None:
    """An answer by id; with `workspace_id`, only if it belongs to that workspace (every id a
    user typed is looked up this way, so no workspace reaches another's answers)."""
    query = sa.select(answers).where(answers.c.id == answer_id)
    if workspace_id is not None:
        query = query.where(answers.c.workspace_id == workspace_id)
    row = (await conn.execute(query)).first()
    return AnswerRow.of(row) if row else None


async def insert_practice_answer(
    conn: AsyncConnection,
    *,
    workspace_id: str,
    channel_id: str,
    user_id: str,
    question_id: str,
    source: str,
    text: str,
    at: datetime,
    rubric: list[str] | None = None,
    grade_cap: int | None = None,
) -> int:
    """Store a practice or mock answer (no daily; it counts on no board); its id."""
    return int(
        await conn.scalar(
            answers.insert()
            .values(
                workspace_id=workspace_id,
                channel_id=channel_id,
                daily_id=None,
                user_id=user_id,
                question_id=question_id,
                kind="practice",
                source=source,
                text=text,
                answered_at=at,
                status="pending",
                rubric=rubric,
                grade_cap=grade_cap,
            )
            .returning(answers.c.id)
        )
    )


async def latest_answer(conn: AsyncConnection, workspace_id: str, user_id: str) -> AnswerRow | None:
    row = (
        await conn.execute(
            sa.select(answers)
            .where(answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
            .order_by(answers.c.answered_at.desc(), answers.c.id.desc())
            .limit(1)
        )
    ).first()
    return AnswerRow.of(row) if row else None


async def answer_of(conn: AsyncConnection, daily_id: int, user_id: str) -> AnswerRow | None:
    row = (
        await conn.execute(
            sa.select(answers).where(answers.c.daily_id == daily_id, answers.c.user_id == user_id)
        )
    ).first()
    return AnswerRow.of(row) if row else None


FRESH_GRACE = timedelta(minutes=2)


async def answers_owed_a_grade(
    conn: AsyncConnection, now: datetime, max_attempts: int, limit: int
) -> list[int]:
    """Answers whose grading is due again: pending ones first (no grade at all), then
    provisional ones, oldest first; each failure pushes `retry_at` further out."""
    rows = await conn.execute(
        sa.select(answers.c.id)
        .where(
            answers.c.status.in_(("pending", "provisional")),
            answers.c.attempts < max_attempts,
            sa.or_(answers.c.retry_at.is_(None), answers.c.retry_at <= now),
            # an answer never tried yet is being graded by whoever stored it: leave it a while
            sa.or_(
                answers.c.attempts > 0,
                sa.func.coalesce(answers.c.edited_at, answers.c.answered_at) < now - FRESH_GRACE,
            ),
        )
        .order_by(sa.case((answers.c.status == "pending", 0), else_=1), answers.c.id)
        .limit(limit)
    )
    return [r.id for r in rows]


async def streak_days(
    conn: AsyncConnection,
    workspace_id: str,
    channel_id: str,
    user_id: str,
    until: date | None = None,
) -> list[Day]:
    """The channel's days with a posted daily (up to `until`), and whether the user answered
    one of each day's dailies in time: one grouped query."""
    mine = sa.and_(
        answers.c.daily_id == dailies.c.id,
        answers.c.user_id == user_id,
        answers.c.kind == "daily",
    )
    conditions = [
        dailies.c.workspace_id == workspace_id,
        dailies.c.channel_id == channel_id,
        dailies.c.status.in_(("posted", "closed")),
    ]
    if until is not None:
        conditions.append(dailies.c.local_date <= until.isoformat())
    rows = await conn.execute(
        sa.select(
            dailies.c.local_date,
            sa.func.max(sa.case((dailies.c.kind == "scheduled", 1), else_=0)).label("sched"),
            sa.func.max(sa.case((dailies.c.status == "posted", 1), else_=0)).label("open"),
            sa.func.max(sa.case((answers.c.id.is_not(None), 1), else_=0)).label("answered"),
        )
        .select_from(dailies.outerjoin(answers, mine))
        .where(*conditions)
        .group_by(dailies.c.local_date)
        .order_by(dailies.c.local_date)
    )
    return [
        Day(date.fromisoformat(r.local_date), bool(r.sched), bool(r.answered), bool(r.open))
        for r in rows
    ]


async def save_grade(
    conn: AsyncConnection,
    answer: AnswerRow,
    detail: dict[str, Any],
    points: int | None,
    status: str,
    graded_at: datetime,
) -> bool:
    """Copy score and points to the answer and store the grade (replacing an earlier one),
    unless the answer changed since it was read for grading (forgotten, edited, regraded):
    then nothing is written and the result is False."""
    changed = await conn.execute(
        answers.update()
        .where(
            answers.c.id == answer.id,
            answers.c.status == answer.status,
            answers.c.text == answer.text,
        )
        .values(status=status, score=detail["score"], points=points)
    )
    if changed.rowcount == 0:
        return False
    values = {
        "answer_id": answer.id,
        "workspace_id": answer.workspace_id,
        "score": detail["score"],
        "grader": detail["grader"],
        "grader_version": detail["grader_version"],
        "model": detail["model"],
        "prompt_version": detail["prompt_version"],
        "tokens_in": detail["tokens_in"],
        "tokens_out": detail["tokens_out"],
        "flagged": detail["flagged"],
        "provisional": detail["provisional"],
        "detail": detail,
        "graded_at": graded_at,
    }
    await conn.execute(upsert(conn, grades, values, ["answer_id"]))
    return True


async def daily_results(conn: AsyncConnection, daily_id: int) -> list[sa.Row[Any]]:
    """Every answer of a daily with its grade and the user's name and privacy."""
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
        .where(answers.c.daily_id == daily_id)
        .order_by(answers.c.score.desc().nulls_last(), answers.c.answered_at)
    )
    return list(await conn.execute(query))


async def board(
    conn: AsyncConnection,
    workspace_id: str,
    channel_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[sa.Row[Any]]:
    """Points per user over counted daily answers, best first; ties: who reached it first."""
    conditions = [
        answers.c.workspace_id == workspace_id,
        answers.c.kind == "daily",
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
    return list(await conn.execute(query))


async def history(
    conn: AsyncConnection, workspace_id: str, user_id: str, limit: int = 10
) -> list[sa.Row[Any]]:
    query = (
        sa.select(
            answers.c.id,
            answers.c.question_id,
            answers.c.kind,
            answers.c.status,
            answers.c.score,
            answers.c.points,
            answers.c.answered_at,
            grades.c.detail,
        )
        .join(grades, grades.c.answer_id == answers.c.id, isouter=True)
        .where(answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
        .order_by(answers.c.answered_at.desc(), answers.c.id.desc())
        .limit(limit)
    )
    return list(await conn.execute(query))


async def forget_user(conn: AsyncConnection, workspace_id: str, user_id: str) -> int:
    """Delete every row of the user in this workspace; return how many answers went."""
    answer_ids = sa.select(answers.c.id).where(
        answers.c.workspace_id == workspace_id, answers.c.user_id == user_id
    )
    sessions = sa.select(mock_sessions.c.id).where(
        mock_sessions.c.workspace_id == workspace_id, mock_sessions.c.user_id == user_id
    )
    await conn.execute(grades.delete().where(grades.c.answer_id.in_(answer_ids)))
    await conn.execute(mock_items.delete().where(mock_items.c.session_id.in_(sessions)))
    gone = await conn.execute(
        answers.delete().where(answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
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
    return gone.rowcount


async def practice_answers_since(
    conn: AsyncConnection, workspace_id: str, user_id: str, since: datetime
) -> int:
    """Practice and mock answers of a user since `since` (the cost guard's count)."""
    return int(
        await conn.scalar(
            sa.select(sa.func.count()).where(
                answers.c.workspace_id == workspace_id,
                answers.c.user_id == user_id,
                answers.c.kind == "practice",
                answers.c.answered_at >= since,
            )
        )
        or 0
    )


async def answered_questions(
    conn: AsyncConnection, workspace_id: str, user_id: str, since: datetime
) -> Sequence[str]:
    rows = await conn.execute(
        sa.select(answers.c.question_id)
        .distinct()
        .where(
            answers.c.workspace_id == workspace_id,
            answers.c.user_id == user_id,
            answers.c.answered_at >= since,
        )
    )
    return list(rows.scalars())


async def user_export(conn: AsyncConnection, workspace_id: str, user_id: str) -> dict[str, Any]:
    """Every row about one user in one workspace, as plain JSON-able data."""

    def rows(result: Any) -> list[dict[str, Any]]:
        return [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r._mapping.items()}
            for r in result
        ]

    mine = (answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
    sessions = sa.select(mock_sessions.c.id).where(
        mock_sessions.c.workspace_id == workspace_id, mock_sessions.c.user_id == user_id
    )
    return {
        "workspace_id": workspace_id,
        "user_id": user_id,
        "profile": rows(
            await conn.execute(
                sa.select(users).where(users.c.workspace_id == workspace_id, users.c.id == user_id)
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
        "reviews": rows(
            await conn.execute(
                sa.select(reviews).where(
                    reviews.c.workspace_id == workspace_id, reviews.c.user_id == user_id
                )
            )
        ),
        "mock_sessions": rows(
            await conn.execute(sa.select(mock_sessions).where(mock_sessions.c.id.in_(sessions)))
        ),
        "mock_items": rows(
            await conn.execute(sa.select(mock_items).where(mock_items.c.session_id.in_(sessions)))
        ),
    }


async def activity(
    conn: AsyncConnection, workspace_id: str, user_id: str, since: datetime
) -> list[datetime]:
    """When the user answered anything since `since` (for the activity chart)."""
    rows = await conn.execute(
        sa.select(answers.c.answered_at).where(
            answers.c.workspace_id == workspace_id,
            answers.c.user_id == user_id,
            answers.c.answered_at >= since,
        )
    )
    return list(rows.scalars())
