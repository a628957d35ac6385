"""Team practice: the fair boards, reminders before close, and the weekly digest
(docs/design.md "Team practice").

Reminders are a tick step; the digest is posted by the daily lifecycle just before the first
scheduled daily of each ISO week it actually posts. Both are reserved once in the database
(`bot.store.team`), so no restart sends one twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain import fairboards
from bot.domain.digest import WeekAnswer, build_digest, iso_week
from bot.domain.fairboards import Entry
from bot.domain.periods import period
from bot.domain.types import ChannelRef, Digest
from bot.packs import Bank
from bot.services.platforms import Platforms
from bot.store.boards import Boards
from bot.store.rows import ChannelRow, DailyRow
from bot.store.skips import Skips
from bot.store.team import Team
from bot.store.tenancy import Tenancy

_log = logging.getLogger(__name__)

#: Who is reminded: users with a counted answer in the channel this recently.
RECENT = timedelta(days=14)
WEEK = timedelta(days=7)


def reminder_text(channel_name: str, closes_at: datetime, now: datetime) -> str:
    left = max(closes_at - now, timedelta(0))
    hours, rest = divmod(int(left.total_seconds()) // 60, 60)
    when = f"{hours} h {rest} min" if hours else f"{rest} min"
    return (
        f"Reminder: today's drill question in #{channel_name} closes in {when}; answer it "
        "to keep your streak. (`/drill remind off` stops these.)"
    )


class GraderIdentity(Protocol):
    """Which grader version's grades the improved board compares (any `Grader` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...


@dataclass(eq=False, kw_only=True)
class TeamPractice:
    team: Team
    boards: Boards
    skips: Skips
    tenancy: Tenancy
    bank: Bank
    clock: Clock
    platforms: Platforms
    grader: GraderIdentity

    # -- boards -----------------------------------------------------------------------------

    async def board(
        self, kind: str, scope: str, workspace_id: str, channel_id: str | None, tz: ZoneInfo
    ) -> list[Entry]:
        """A board, best first: `points`, `improved` (not for `all`) or `consistency`."""
        now = self.clock.now()
        start, end = period(scope, now, tz)
        if kind == "points":
            rows = await self.boards.board(workspace_id, channel_id, start, end)
            return [
                Entry(
                    r.user_id,
                    r.points,
                    f"{r.points} pts ({r.answers} answers)",
                    r.last,
                    r.name,
                    r.privacy,
                )
                for r in rows
            ]
        if kind == "improved":
            assert start is not None, "the parser refuses `improved` over all time"
            entries = await self._improved(workspace_id, channel_id, start, now, tz)
        else:
            today = now.astimezone(tz).date().isoformat()
            entries = await self._consistency(workspace_id, channel_id, start, today)
        return await self._named(workspace_id, entries)

    async def _improved(
        self,
        workspace_id: str,
        channel_id: str | None,
        start: datetime,
        now: datetime,
        tz: ZoneInfo,
    ) -> list[Entry]:
        """The period so far against the same number of days just before it."""
        days = (now.astimezone(tz).date() - start.date()).days + 1
        before = start - timedelta(days=days)  # wall-clock arithmetic: a local midnight
        return await self._improved_between(
            workspace_id, channel_id, before, start, now + timedelta(seconds=1)
        )

    async def _improved_between(
        self,
        workspace_id: str,
        channel_id: str | None,
        before: datetime,
        start: datetime,
        end: datetime,
    ) -> list[Entry]:
        """Grades in [start, end) against those in [before, start)."""
        who = (self.grader.name, self.grader.version)
        return fairboards.improved(
            await self.team.scored(workspace_id, channel_id, before, start, who),
            await self.team.scored(workspace_id, channel_id, start, end, who),
        )

    async def _consistency(
        self, workspace_id: str, channel_id: str | None, start: datetime | None, today: str
    ) -> list[Entry]:
        """Counted per user in the store (`Team.user_days`); the skipped dates, partly computed
        (holidays), are found first over the span of the period's dailies and handed to it."""
        first = start.date().isoformat() if start is not None else None
        span = await self.team.scheduled_span(workspace_id, channel_id, first, today)
        if span is None:
            return []
        chans, since, until = span
        skipped = await self.skips.between(
            [(workspace_id, c) for c in chans], date.fromisoformat(since), date.fromisoformat(until)
        )
        pairs = [(c, d.isoformat()) for (_, c), days in skipped.items() for d in sorted(days)]
        return fairboards.consistency(
            await self.team.user_days(workspace_id, channel_id, first, today, start, pairs)
        )

    async def _named(self, workspace_id: str, entries: list[Entry]) -> list[Entry]:
        names = await self.team.names(workspace_id, [e.user_id for e in entries])
        return [
            Entry(e.user_id, e.value, e.shown, e.last, *names.get(e.user_id, (None, None)))
            for e in entries
        ]

    async def best_week_points(self, workspace_id: str, user_id: str, tz: ZoneInfo) -> int:
        """The user's best ISO week (workspace time) of points."""
        weeks: dict[str, int] = {}
        for at, points in await self.team.points_history(workspace_id, user_id):
            week = iso_week(at.astimezone(tz).date())
            weeks[week] = weeks.get(week, 0) + points
        return max(weeks.values(), default=0)

    # -- reminders --------------------------------------------------------------------------

    async def remind_due(self) -> None:
        """Reserve the reminders of every daily whose reminder time has come (late only
        while it is open), then send the owed ones, each once."""
        now = self.clock.now()
        for due in await self.team.due_rounds(self.platforms.served, now):
            if now >= due.daily.closes_at - timedelta(minutes=due.remind_minutes):
                await self.team.reserve_round(due.daily, now - RECENT, now)
        for reminder in await self.team.owed_reminders(now):
            if not await self.team.take_reminder(reminder.id):
                continue
            ref = ChannelRef(reminder.workspace_id, reminder.channel_id)
            text = reminder_text(reminder.name or reminder.channel_id, reminder.closes_at, now)
            status = "sent"
            try:
                adapter = await self.platforms.adapter_for(reminder.workspace_id)
                await adapter.send_dm(ref, reminder.user_id, text)
            except Exception as exc:  # a failed DM is logged, never retried
                _log.warning("reminder %s to %s not sent: %s", reminder.id, reminder.user_id, exc)
                status = "failed"
            await self.team.finish_reminder(reminder.id, status, self.clock.now())

    # -- the weekly digest ------------------------------------------------------------------

    async def digest_before(self, daily: DailyRow) -> None:
        """Called just before a daily is posted: the first scheduled daily of an ISO week
        posts the previous week's digest first (once per channel and week)."""
        if daily.kind != "scheduled":
            return
        chan = await self.tenancy.channel(daily.workspace_id, daily.channel_id)
        if chan is None or not chan.digest:
            return
        tz = ZoneInfo(chan.timezone)
        day = date.fromisoformat(daily.local_date)
        this_monday = day - timedelta(days=day.isoweekday() - 1)
        if chan.created_at.astimezone(tz).date() >= this_monday:
            return  # the channel did not exist last week: nothing to report
        last_monday = this_monday - WEEK
        now = self.clock.now()
        digest_id = await self.team.reserve_digest(
            chan.workspace_id, chan.id, iso_week(last_monday), now
        )
        if digest_id is None:
            return
        message_id: str | None = None
        try:
            digest = await self.digest(chan, last_monday)
            adapter = await self.platforms.adapter_for(chan.workspace_id)
            message_id = await adapter.post_digest(digest)
        except Exception:
            _log.exception("digest of %s/%s not posted; not retried", chan.workspace_id, chan.id)
        status = "posted" if message_id is not None else "failed"
        await self.team.finish_digest(digest_id, status, message_id, self.clock.now())

    async def digest(self, chan: ChannelRow, monday: date) -> Digest:
        """The digest of the ISO week starting `monday` (channel time)."""
        tz = ZoneInfo(chan.timezone)
        start = datetime.combine(monday, time(0), tz)
        end = start + WEEK  # wall-clock: the next local Monday midnight, across DST too
        ws, ch = chan.workspace_id, chan.id
        rows = await self.team.week_answers(ws, ch, start, end)
        sunday = monday + timedelta(days=6)
        days = await self.team.scheduled_days(ws, ch, monday.isoformat(), sunday.isoformat())
        scheduled = set(days.get(ch, {}))
        skipped = (await self.skips.between([(ws, ch)], monday, sunday))[(ws, ch)]
        scheduled -= {d.isoformat() for d in skipped}
        top = [(r.user_id, int(r.points)) for r in (await self.boards.board(ws, ch, start, end))]
        improved = await self._improved_between(ws, ch, start - WEEK, start, end)
        users = {r.user_id for r in rows} | {u for u, _ in top[:3]}
        names = await self.team.names(ws, sorted(users | {e.user_id for e in improved[:1]}))

        def topic_of(question_id: str) -> str | None:
            question = self.bank.get(question_id)
            return question.topic if question else None

        return build_digest(
            ChannelRef(ws, ch),
            chan.name or ch,
            monday,
            [WeekAnswer(r.user_id, r.question_id, r.local_date, r.status, r.score) for r in rows],
            scheduled,
            topic_of,
            names,
            top[:3],
            improved[0] if improved else None,
        )
