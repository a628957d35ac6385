"""A user's standing as every surface shows it (Slack's App Home, `/drill stats`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.streaks import Streak


@dataclass(frozen=True)
class Bests:
    """Personal bests: the best streak in any drill channel, the best week's points."""

    streak: int
    week_points: int

    def text(self) -> str:
        return f"Personal bests: streak {self.streak}, best week {self.week_points} points."


@dataclass(frozen=True)
class ChannelStanding:
    name: str
    streak: Streak
    week_points: int


@dataclass(frozen=True)
class Home:
    """Points this week and all time, rank in the workspace, reviews due, and per drill
    channel the streak and this week's points."""

    week_points: int
    total_points: int
    rank: int | None
    reviews_due: int
    channels: list[ChannelStanding]
    bests: Bests


@dataclass(frozen=True)
class Stats:
    """Mastery per topic (mean latest score, questions), reviews due, answers per local day
    over the last 30 days, and the local date it was computed for."""

    mastery: dict[str, tuple[float, int]]
    reviews_due: int
    per_day: list[tuple[date, int]]
    today: date
    bests: Bests
