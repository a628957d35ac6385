"""Streaks, freezes and points, derived from stored answers (docs/design.md "Streaks and points").

Nothing here is a counter that an event increments: the store reads which local dates had a
posted daily and which of them the user answered before close, and these pure functions fold
that history. A replayed event therefore can never count twice, and a deleted answer simply
disappears from the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

FREEZE_EVERY = 7
MAX_FREEZES = 2
EARLY_BONUS = 2
EARLY_WINDOW = timedelta(hours=1)
STREAK_BONUS_CAP = 5


@dataclass(frozen=True)
class Day:
    """One local date of a channel that had at least one posted daily.

    `scheduled`: a scheduled slot was posted that day (extra-only days never break a streak).
    `answered`: the user answered one of the day's dailies before its close.
    `open`: a daily of that day is still open, so an unanswered day is not missed yet.
    """

    local_date: date
    scheduled: bool
    answered: bool
    open: bool = False


@dataclass(frozen=True)
class Streak:
    current: int = 0
    best: int = 0
    freezes: int = 0
    freezes_used: int = 0


def fold_streak(days: Iterable[Day]) -> Streak:
    """Fold a channel's days, oldest first, into the user's streak.

    A freeze is earned for every 7 scheduled days answered in a row (at most 2 held); a missed
    scheduled day spends one instead of breaking the streak, and ends the row.
    """
    current = best = freezes = used = row = 0
    for day in days:
        if day.answered:
            current += 1
            best = max(best, current)
            if day.scheduled:
                row += 1
                if row % FREEZE_EVERY == 0:
                    freezes = min(MAX_FREEZES, freezes + 1)
        elif day.open or not day.scheduled:
            continue
        elif freezes:
            freezes -= 1
            used += 1
            row = 0
        else:
            current = row = 0
    return Streak(current, best, freezes, used)


@dataclass(frozen=True)
class Points:
    score: int
    early: int
    streak: int

    @property
    def total(self) -> int:
        return self.score + self.early + self.streak

    def breakdown(self) -> str:
        return (
            f"{self.total} points = {self.score} score + {self.early} early + {self.streak} streak"
        )


def points_for(score: int, answered_at: datetime, posted_at: datetime, streak: int) -> Points:
    """Score, +2 for an answer in the daily's first hour, + min(streak, 5)."""
    early = EARLY_BONUS if answered_at - posted_at <= EARLY_WINDOW else 0
    return Points(score, early, min(streak, STREAK_BONUS_CAP))
