"""Team practice storage: reminder preferences and reminders, weekly digests, and the
figures of the fair boards and digests (docs/design.md "Team practice").

Reminders and digests are time-driven work under the reserve-once primitive: a reminder is
reserved when its daily's recipients are chosen (one transaction, once per daily), moved to
`sending` just before its DM (the recorded intent) and confirmed `sent` or `failed`; a
digest is reserved under (workspace, channel, ISO week). Every count reads `counted()`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.fairboards import Scored, UserDays
from bot.store.counted import counted
from bot.store.db import Database
from bot.store.reserve import Work
from bot.store.rows import DailyRow, FromRow
from bot.store.tables import (
    answers,
    channels,
    dailies,
    digests,
    grades,
    reminder_prefs,
    reminders,
    users,
    workspaces,
)
from bot.store.tenancy import DAILY_CHANNEL, live

#: A value a statement compares with: given, or a parameter of a statement built once.
Value = str | sa.BindParameter[str]

#: Reminders of a daily: reserved by stamping `dailies.reminded_at` (once per daily).
REMINDER_ROUNDS = Work(
    name="reminder-round",
    table=dailies,
    done=dailies.c.reminded_at.is_not(None),
    lease=None,
    confirm=("reminded_at",),
)
#: One reminder: `reserved` -> `sending` (intent) -> `sent` | `failed`. A reminder left in
#: `sending` by a crash is never sent again: a DM cannot be looked up, and at most once beats
#: twice.
REMINDERS = Work(
    name="reminder",
    table=reminders,
    done=reminders.c.status != "reserved",
    lease=None,
    confirm=("status", "sent_at"),
)
#: One digest per channel per ISO week, like a post: `reserved` -> `sending` -> `posted`.
DIGESTS = Work(
    name="digest",
    table=digests,
    done=digests.c.status != "reserved",
    lease=None,
    confirm=("status", "message_id", "posted_at"),
)


@dataclass(frozen=True)
class ReminderRow(FromRow):
    id: int
    workspace_id: str
    channel_id: str
    daily_id: int
    user_id: str
    closes_at: datetime
    name: str


@dataclass(frozen=True)
class DueRound(FromRow):
    """An open daily of a channel with reminders on, not yet reminded."""

    daily: DailyRow
    remind_minutes: int


@dataclass(frozen=True)
class WeekAnswer(FromRow):
    """A counted answer in a digest's week."""

    user_id: str
    question_id: str
    local_date: str
    status: str
    score: int | None
    points: int | None
    answered_at: datetime


def _mine(table: sa.Table, workspace_id: str, user_id: str) -> list[sa.ColumnElement[bool]]:
    return [table.c.workspace_id == workspace_id, table.c.user_id == user_id]


class Team:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reminder preferences ---------------------------------------------------------------

    async def set_reminders(
        self, workspace_ids: Sequence[str], user_id: str, enabled: bool, now: datetime
    ) -> None:
        """Reminders on or off for the user in each of these workspaces."""
        async with self.db.write() as conn:
            for workspace_id in workspace_ids:
                await conn.execute(
                    reminder_prefs.delete().where(*_mine(reminder_prefs, workspace_id, user_id))
                )
                await conn.execute(
                    reminder_prefs.insert().values(
                        workspace_id=workspace_id,
                        user_id=user_id,
                        enabled=enabled,
                        updated_at=now,
                    )
                )

    async def workspaces_of(self, platform: str, user_id: str) -> list[str]:
        """The active workspaces of a platform where the user is known (a Discord DM's
        `/drill remind` applies to every guild the user shares with the bot)."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(users.c.workspace_id)
                .join(workspaces, workspaces.c.id == users.c.workspace_id)
                .where(
                    users.c.id == user_id,
                    workspaces.c.platform == platform,
                    workspaces.c.active,
                )
                .order_by(users.c.workspace_id)
            )
            return [r.workspace_id for r in rows]

    # -- reminders --------------------------------------------------------------------------

    async def due_rounds(self, platforms: Sequence[str], now: datetime) -> list[DueRound]:
        """Open dailies of live channels with reminders on whose round is not reserved yet
        (the service checks each channel's lead time)."""
        query = (
            sa.select(dailies, channels.c.remind_minutes)
            .join(channels, DAILY_CHANNEL)
            .join(workspaces, workspaces.c.id == dailies.c.workspace_id)
            .where(
                dailies.c.status == "posted",
                dailies.c.closes_at > now,
                sa.not_(REMINDER_ROUNDS.done),
                channels.c.remind_minutes.is_not(None),
                *live(platforms),
            )
            .order_by(dailies.c.id)
        )
        async with self.db.read() as conn:
            return [
                DueRound(DailyRow.of(r), int(r.remind_minutes)) for r in await conn.execute(query)
            ]

    async def reserve_round(self, daily: DailyRow, recent_since: datetime, now: datetime) -> int:
        """Reserve the daily's reminders in one transaction: whoever stamps the daily first
        chooses the recipients (a counted answer in this channel since `recent_since`, none
        to this daily, reminders not turned off). How many were reserved (0 when another run
        won the round)."""
        async with self.db.write() as conn:
            won = await REMINDER_ROUNDS.move(
                conn,
                [dailies.c.id == daily.id, sa.not_(REMINDER_ROUNDS.done)],
                {"reminded_at": now},
            )
            if not won:
                return 0
            answered_this = sa.select(answers.c.user_id).where(
                answers.c.daily_id == daily.id, counted()
            )
            opted_out = sa.select(reminder_prefs.c.user_id).where(
                reminder_prefs.c.workspace_id == daily.workspace_id,
                sa.not_(reminder_prefs.c.enabled),
            )
            recent = (
                await conn.execute(
                    sa.select(answers.c.user_id)
                    .distinct()
                    .where(
                        answers.c.workspace_id == daily.workspace_id,
                        answers.c.channel_id == daily.channel_id,
                        counted(),
                        answers.c.answered_at >= recent_since,
                        answers.c.user_id.not_in(answered_this),
                        answers.c.user_id.not_in(opted_out),
                    )
                    .order_by(answers.c.user_id)
                )
            ).all()
            rows = [
                {
                    "workspace_id": daily.workspace_id,
                    "channel_id": daily.channel_id,
                    "daily_id": daily.id,
                    "user_id": r.user_id,
                    "status": "reserved",
                    "reserved_at": now,
                }
                for r in recent
            ]
            if rows:
                await REMINDERS.reserve_many(conn, self.db, rows)
            return len(rows)

    async def owed_reminders(self, now: datetime) -> list[ReminderRow]:
        """Reserved reminders of dailies still open whose user has not answered meanwhile."""
        answered = sa.select(answers.c.id).where(
            answers.c.daily_id == reminders.c.daily_id,
            answers.c.user_id == reminders.c.user_id,
            counted(),
        )
        query = (
            REMINDERS.owed(
                dailies.c.status == "posted",
                dailies.c.closes_at > now,
                sa.not_(sa.exists(answered)),
            )
            .join(dailies, dailies.c.id == reminders.c.daily_id)
            .join(channels, DAILY_CHANNEL)
            .with_only_columns(*reminders.c, dailies.c.closes_at, channels.c.name)
        )
        async with self.db.read() as conn:
            return [ReminderRow.of(r) for r in await conn.execute(query)]

    async def take_reminder(self, reminder_id: int) -> bool:
        """Record the intent to send (`reserved` -> `sending`); False when taken already."""
        async with self.db.write() as conn:
            return await REMINDERS.move(
                conn,
                [reminders.c.id == reminder_id, reminders.c.status == "reserved"],
                {"status": "sending"},
            )

    async def finish_reminder(self, reminder_id: int, status: str, now: datetime) -> None:
        async with self.db.write() as conn:
            await REMINDERS.confirm_many(
                conn, [{"id": reminder_id, "status": status, "sent_at": now}]
            )

    # -- digests ----------------------------------------------------------------------------

    async def reserve_digest(
        self, workspace_id: str, channel_id: str, iso_week: str, now: datetime
    ) -> int | None:
        """Reserve the channel's digest of this ISO week and record the intent to post it;
        its id, or None when it was reserved before (whatever restarts)."""
        async with self.db.write() as conn:
            won = await DIGESTS.reserve_many(
                conn,
                self.db,
                [
                    {
                        "workspace_id": workspace_id,
                        "channel_id": channel_id,
                        "iso_week": iso_week,
                        "status": "sending",
                        "reserved_at": now,
                    }
                ],
            )
        return int(won[0].id) if won else None

    async def finish_digest(
        self, digest_id: int, status: str, message_id: str | None, now: datetime
    ) -> None:
        async with self.db.write() as conn:
            await DIGESTS.confirm_many(
                conn,
                [{"id": digest_id, "status": status, "message_id": message_id, "posted_at": now}],
            )

    # -- figures ----------------------------------------------------------------------------

    async def scored(
        self,
        workspace_id: str,
        channel_id: str | None,
        start: datetime,
        end: datetime,
        grader: tuple[str, str],
    ) -> list[Scored]:
        """Per user: the counted answers in [start, end) with a final grade of the current
        grader version (not provisional): how many, the sum of scores, the last time."""
        conditions = [
            answers.c.workspace_id == workspace_id,
            counted(),
            answers.c.status == "graded",
            answers.c.score.is_not(None),
            answers.c.answered_at >= start,
            answers.c.answered_at < end,
            sa.not_(grades.c.provisional),
            grades.c.grader == grader[0],
            grades.c.grader_version == grader[1],
        ]
        if channel_id is not None:
            conditions.append(answers.c.channel_id == channel_id)
        query = (
            sa.select(
                answers.c.user_id,
                sa.func.count().label("graded"),
                sa.func.sum(answers.c.score).label("total"),
                sa.func.max(answers.c.answered_at).label("last"),
            )
            .join(grades, grades.c.answer_id == answers.c.id)
            .where(*conditions)
            .group_by(answers.c.user_id)
        )
        async with self.db.read() as conn:
            return [
                Scored(r.user_id, int(r.graded), int(r.total), r.last)
                for r in await conn.execute(query)
            ]

    async def scheduled_days(
        self, workspace_id: str, channel_id: str | None, first: str | None, last: str
    ) -> dict[str, dict[str, bool]]:
        """Per channel: its local dates with a posted scheduled daily in [first, last], and
        whether one of them is still open."""
        conditions = [
            *_dailies_between(workspace_id, channel_id, first, last),
            dailies.c.kind == "scheduled",
            dailies.c.status.in_(("posted", "closed")),
        ]
        query = (
            sa.select(
                dailies.c.channel_id,
                dailies.c.local_date,
                sa.func.max(sa.case((dailies.c.status == "posted", 1), else_=0)).label("open"),
            )
            .where(*conditions)
            .group_by(dailies.c.channel_id, dailies.c.local_date)
        )
        out: dict[str, dict[str, bool]] = {}
        async with self.db.read() as conn:
            for r in await conn.execute(query):
                out.setdefault(r.channel_id, {})[r.local_date] = bool(r.open)
        return out

    async def scheduled_span(
        self, workspace_id: str, channel_id: str | None, first: str | None, last: str
    ) -> tuple[list[str], str, str] | None:
        """The channels with a daily dated in [first, last] and the first and last local date
        of those dailies (None when there is none): where skipped dates matter. Any daily, not
        only scheduled ones, so the slot index alone answers it."""
        query = (
            sa.select(
                dailies.c.channel_id,
                sa.func.min(dailies.c.local_date).label("first"),
                sa.func.max(dailies.c.local_date).label("last"),
            )
            .where(*_dailies_between(workspace_id, channel_id, first, last))
            .group_by(dailies.c.channel_id)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return None
        return [r.channel_id for r in rows], min(r.first for r in rows), max(r.last for r in rows)

    async def user_days(
        self,
        workspace_id: str,
        channel_id: str | None,
        first: str | None,
        last: str,
        start: datetime | None,
        skipped: Sequence[tuple[str, str]],
    ) -> list[UserDays]:
        """The consistency board's counts per user with a counted answer to a daily dated in
        [first, last] (local dates; `start`: the period's first instant, whose local date is
        `first`, both None over all time; `skipped`: (channel, local date) pairs that are no
        scheduled day), counted in one statement so only a row per user leaves the database.

        Per date of the channels' dailies (`days`): is it a closed or an open scheduled day,
        and is it plain (its only daily is a closed scheduled one, not skipped)? Answers are
        counted in two parts: each answered daily of a plain date is one closed scheduled day,
        so the part that reads the whole history (`pairs`; over all time in (channel, user)
        order from ix_answers_days, no sort) only counts rows, with no DISTINCT; the few other
        dates (extras, several dailies, skipped, open) are counted apart, by date (`other`).
        A user's days in a channel run from their first answered date there (`closed_from`:
        the closed scheduled days from each date on), or from the period's start when they
        answered there before it (`totals`); then summed over the channels.
        """
        params: dict[str, Any] = {"ws": workspace_id, "last": last}
        if channel_id is not None:
            params["channel"] = channel_id
        if first is not None:
            params["first"] = first
        if start is not None:
            params["start"] = start
        if skipped:
            params["skipped"] = list(skipped)
        query = _user_days_query(channel_id is not None, first is not None, bool(skipped))
        async with self.db.read() as conn:
            return [
                UserDays(
                    r.user_id, int(r.answered), int(r.answered_open), int(r.closed_since), r.last
                )
                for r in await conn.execute(query, params)
            ]

    async def names(
        self, workspace_id: str, user_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        """Name and privacy choice of each user."""
        out: dict[str, tuple[str | None, str | None]] = {}
        async with self.db.read() as conn:
            for chunk in _chunks(list(user_ids), 500):
                for r in await conn.execute(
                    sa.select(users.c.id, users.c.name, users.c.privacy).where(
                        users.c.workspace_id == workspace_id, users.c.id.in_(chunk)
                    )
                ):
                    out[r.id] = (r.name, r.privacy)
        return out

    async def week_answers(
        self, workspace_id: str, channel_id: str, start: datetime, end: datetime
    ) -> list[WeekAnswer]:
        """The channel's counted answers sent in [start, end)."""
        query = (
            sa.select(
                answers.c.user_id,
                answers.c.question_id,
                dailies.c.local_date,
                answers.c.status,
                answers.c.score,
                answers.c.points,
                answers.c.answered_at,
            )
            .join(dailies, dailies.c.id == answers.c.daily_id)
            .where(
                answers.c.workspace_id == workspace_id,
                answers.c.channel_id == channel_id,
                counted(),
                answers.c.answered_at >= start,
                answers.c.answered_at < end,
            )
        )
        async with self.db.read() as conn:
            return [WeekAnswer.of(r) for r in await conn.execute(query)]

    async def points_history(self, workspace_id: str, user_id: str) -> list[tuple[datetime, int]]:
        """When and how many points each of the user's counted answers earned."""
        query = sa.select(answers.c.answered_at, answers.c.points).where(
            *_mine(answers, workspace_id, user_id), counted(), answers.c.points.is_not(None)
        )
        async with self.db.read() as conn:
            return [(r.answered_at, int(r.points)) for r in await conn.execute(query)]

    # -- export and forget-me ---------------------------------------------------------------

    async def export(self, workspace_id: str, user_id: str) -> dict[str, Any]:
        def plain(row: Any) -> dict[str, Any]:
            return {
                k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in row._mapping.items()
            }

        async with self.db.read() as conn:
            prefs = await conn.execute(
                sa.select(reminder_prefs).where(*_mine(reminder_prefs, workspace_id, user_id))
            )
            sent = await conn.execute(
                sa.select(reminders)
                .where(*_mine(reminders, workspace_id, user_id))
                .order_by(reminders.c.id)
            )
            return {
                "reminder_preferences": [plain(r) for r in prefs],
                "reminders": [plain(r) for r in sent],
            }

    async def forget(self, workspace_id: str, user_id: str) -> None:
        async with self.db.write() as conn:
            for table in (reminder_prefs, reminders):
                await conn.execute(table.delete().where(*_mine(table, workspace_id, user_id)))


@functools.cache
def _user_days_query(by_channel: bool, bounded: bool, skipping: bool) -> sa.Select[Any]:
    """`Team.user_days`'s statement for one shape (one channel or the workspace, a period or
    all time, skipped dates or none), with its values as parameters (`ws`, `channel`,
    `first`, `last`, `start`, `skipped`): built once, so a board pays neither for building
    nor for keying it."""
    workspace_id = sa.bindparam("ws", type_=sa.String)
    channel_id = sa.bindparam("channel", type_=sa.String) if by_channel else None
    first = sa.bindparam("first", type_=sa.String) if bounded else None
    start = sa.bindparam("start", type_=answers.c.answered_at.type) if bounded else None
    in_range = _dailies_between(
        workspace_id, channel_id, first, sa.bindparam("last", type_=sa.String)
    )
    is_scheduled = sa.and_(
        dailies.c.kind == "scheduled", dailies.c.status.in_(("posted", "closed"))
    )
    is_open = sa.and_(dailies.c.kind == "scheduled", dailies.c.status == "posted")
    skip = (
        sa.tuple_(dailies.c.channel_id, dailies.c.local_date).in_(
            sa.bindparam("skipped", expanding=True)
        )
        if skipping
        else sa.false()
    )
    grouped = (
        sa.select(
            dailies.c.channel_id,
            dailies.c.local_date,
            sa.func.count().label("dailies"),
            sa.case((skip, 0), else_=sa.func.max(sa.case((is_scheduled, 1), else_=0))).label(
                "scheduled"
            ),
            sa.func.max(sa.case((is_open, 1), else_=0)).label("opened"),
        )
        .where(*in_range)
        .group_by(dailies.c.channel_id, dailies.c.local_date)
        .subquery("grouped")
    )
    closed = sa.case((sa.and_(grouped.c.scheduled == 1, grouped.c.opened == 0), 1), else_=0)
    windowed = sa.select(
        grouped.c.channel_id,
        grouped.c.local_date,
        closed.label("closed"),
        sa.case((sa.and_(grouped.c.scheduled == 1, grouped.c.opened == 1), 1), else_=0).label(
            "open"
        ),
        sa.case((sa.and_(grouped.c.dailies == 1, closed == 1), 1), else_=0).label("plain"),
        sa.func.sum(closed)
        .over(
            partition_by=grouped.c.channel_id,
            order_by=grouped.c.local_date.desc(),
            rows=(None, 0),
        )
        .label("closed_from"),
    ).subquery("windowed")
    # Grouped again (one row per date already): SQLite builds no automatic index on a
    # window's output, and the joins below need one.
    days = (
        sa.select(
            windowed.c.channel_id,
            windowed.c.local_date,
            *(
                sa.func.max(windowed.c[name]).label(name)
                for name in ("closed", "open", "plain", "closed_from")
            ),
        )
        .group_by(windowed.c.channel_id, windowed.c.local_date)
        .cte("days")
    )
    conditions = [*in_range, counted()]
    if not bounded:
        # All time reads the whole history: in (channel, user) order from ix_answers_days.
        # A period is read from its dailies instead (their slot index, then each daily's
        # answers), so SQLite must not be offered that index for it.
        conditions.append(answers.c.workspace_id == workspace_id)
        if channel_id is not None:
            conditions.append(answers.c.channel_id == channel_id)
    pairs = (
        sa.select(
            answers.c.user_id,
            answers.c.channel_id,
            sa.func.min(dailies.c.local_date).label("first"),
            sa.func.max(answers.c.answered_at).label("last"),
            sa.func.count().label("dailies"),
        )
        .join(dailies, dailies.c.id == answers.c.daily_id)
        .where(*conditions)
        .group_by(answers.c.channel_id, answers.c.user_id)
        .cte("pairs")
    )
    other = (
        sa.select(
            answers.c.user_id,
            answers.c.channel_id,
            sa.func.count().label("dailies"),
            sa.func.count(sa.distinct(sa.case((days.c.closed == 1, dailies.c.local_date)))).label(
                "closed"
            ),
            sa.func.count(sa.distinct(sa.case((days.c.open == 1, dailies.c.local_date)))).label(
                "open"
            ),
        )
        .select_from(days)
        .join(
            dailies,
            sa.and_(
                dailies.c.workspace_id == workspace_id,
                dailies.c.channel_id == days.c.channel_id,
                dailies.c.local_date == days.c.local_date,
            ),
        )
        .join(answers, answers.c.daily_id == dailies.c.id)
        .where(days.c.plain == 0, counted())
        .group_by(answers.c.channel_id, answers.c.user_id)
        .cte("other")
    )
    since: sa.ColumnElement[Any] = days.c.closed_from
    if start is not None:
        # Answered there before the period: all of its closed scheduled days count.
        totals = (
            sa.select(days.c.channel_id, sa.func.sum(days.c.closed).label("closed"))
            .group_by(days.c.channel_id)
            .cte("totals")
        )
        since = sa.case(
            (_answered_before(pairs, workspace_id, start), totals.c.closed), else_=since
        )
    zero = sa.literal(0)
    answered_open = sa.func.coalesce(other.c.open, zero)
    # Every answered daily of a plain date is one closed scheduled day.
    answered_closed = (
        pairs.c.dailies
        - sa.func.coalesce(other.c.dailies, zero)
        + sa.func.coalesce(other.c.closed, zero)
    )
    query = (
        sa.select(
            pairs.c.user_id,
            sa.func.sum(answered_closed + answered_open).label("answered"),
            sa.func.sum(answered_open).label("answered_open"),
            sa.func.sum(since).label("closed_since"),
            sa.func.max(pairs.c.last).label("last"),
        )
        .join(
            days,
            sa.and_(days.c.channel_id == pairs.c.channel_id, days.c.local_date == pairs.c.first),
        )
        .outerjoin(
            other,
            sa.and_(other.c.user_id == pairs.c.user_id, other.c.channel_id == pairs.c.channel_id),
        )
        .group_by(pairs.c.user_id)
    )
    if start is not None:
        query = query.join(totals, totals.c.channel_id == pairs.c.channel_id)
    return query


def _dailies_between(
    workspace_id: Value, channel_id: Value | None, first: Value | None, last: Value
) -> list[sa.ColumnElement[bool]]:
    """Dailies of the workspace (or one channel) whose local date is in [first, last]."""
    conditions = [dailies.c.workspace_id == workspace_id, dailies.c.local_date <= last]
    if first is not None:
        conditions.append(dailies.c.local_date >= first)
    if channel_id is not None:
        conditions.append(dailies.c.channel_id == channel_id)
    return conditions


def _answered_before(
    pairs: sa.FromClause, workspace_id: Value, start: sa.BindParameter[datetime]
) -> sa.ColumnElement[bool]:
    """Whether the pair's user has a counted answer in its channel sent before `start` and
    one sent since (the latter almost always among the pair's own answers: looked up only
    when not). Each is an index lookup that stops at the first hit."""

    def sent(after: bool) -> sa.Exists:
        then = answers.alias("then")
        when = then.c.answered_at >= start if after else then.c.answered_at < start
        return sa.exists(
            sa.select(then.c.id).where(
                then.c.workspace_id == workspace_id,
                then.c.channel_id == pairs.c.channel_id,
                then.c.user_id == pairs.c.user_id,
                counted(then),
                when,
            )
        )

    since = sa.case((pairs.c.last >= start, sa.true()), else_=sent(after=True))
    return sa.and_(sent(after=False), since)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
