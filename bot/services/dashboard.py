"""One user's standing, computed once for every surface that shows it: Slack's App Home and
`/drill stats` (and `/drill streak`) on every platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.periods import period
from bot.domain.standing import Bests, ChannelStanding, Home, Stats
from bot.domain.streaks import Streak, fold_streak
from bot.domain.types import Actor, ChannelRef
from bot.services.practice import Planner
from bot.services.team import TeamPractice
from bot.services.tenants import Tenants
from bot.store.answers import Answers
from bot.store.boards import Boards
from bot.store.rows import BoardRow
from bot.store.tenancy import Tenancy

#: Channels a home view lists at most.
MAX_CHANNELS = 40
ACTIVITY_DAYS = 30


def _standing(rows: Sequence[BoardRow], user_id: str) -> tuple[int, int | None]:
    """The user's points on a board and rank (None when not on it)."""
    for rank, row in enumerate(rows, 1):
        if row.user_id == user_id:
            return int(row.points), rank
    return 0, None


@dataclass(eq=False, kw_only=True)
class Dashboard:
    tenancy: Tenancy
    tenants: Tenants
    boards: Boards
    answers: Answers
    planner: Planner
    clock: Clock
    team: TeamPractice

    async def streak(self, ref: ChannelRef, user_id: str) -> Streak:
        return fold_streak(await self.boards.streak_days(ref.workspace_id, ref.channel_id, user_id))

    async def home(self, workspace_id: str, user_id: str) -> Home:
        now = self.clock.now()
        tz = ZoneInfo(await self.tenants.timezone_of(workspace_id))
        start, end = period("week", now, tz)
        week, _ = _standing(await self.boards.board(workspace_id, None, start, end), user_id)
        total, rank = _standing(await self.boards.board(workspace_id, None, None, None), user_id)
        due = len(await self.planner.due(Actor(workspace_id, user_id), now))
        standings = []
        for chan in await self.tenancy.drill_channels(workspace_id, MAX_CHANNELS):
            c_start, c_end = period("week", now, ZoneInfo(chan.timezone))
            rows = await self.boards.board(workspace_id, chan.id, c_start, c_end)
            streak = await self.streak(ChannelRef(workspace_id, chan.id), user_id)
            standings.append(
                ChannelStanding(chan.name or chan.id, streak, _standing(rows, user_id)[0])
            )
        best_streak = max((c.streak.best for c in standings), default=0)
        best_week = await self.team.best_week_points(workspace_id, user_id, tz)
        return Home(week, total, rank, due, standings, Bests(best_streak, best_week))

    async def bests(self, workspace_id: str, user_id: str) -> Bests:
        """Personal bests: the best streak of any drill channel, the best week's points."""
        best_streak = 0
        for chan in await self.tenancy.drill_channels(workspace_id, MAX_CHANNELS):
            streak = await self.streak(ChannelRef(workspace_id, chan.id), user_id)
            best_streak = max(best_streak, streak.best)
        tz = ZoneInfo(await self.tenants.timezone_of(workspace_id))
        return Bests(best_streak, await self.team.best_week_points(workspace_id, user_id, tz))

    async def stats(self, actor: Actor) -> Stats:
        now = self.clock.now()
        mastery = await self.planner.mastery(actor)
        due = len(await self.planner.due(actor, now))
        times = await self.answers.activity(
            actor.workspace_id, actor.user_id, now - timedelta(days=ACTIVITY_DAYS)
        )
        tz = ZoneInfo(await self.tenants.timezone_of(actor.workspace_id))
        today = now.astimezone(tz).date()
        per_day = {today - timedelta(days=i): 0 for i in range(ACTIVITY_DAYS - 1, -1, -1)}
        for when in times:
            day = when.astimezone(tz).date()
            if day in per_day:
                per_day[day] += 1
        bests = await self.bests(actor.workspace_id, actor.user_id)
        return Stats(mastery, due, sorted(per_day.items()), today, bests)
