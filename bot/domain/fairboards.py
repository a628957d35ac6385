"""The fair boards beside the points board (docs/design.md "Streaks and points"):
**most improved** and **consistency**, as pure folds over rows the store reads.

Both rank by value, ties to the earlier last counted answer, then the user id, and both
leave out users below their minimum, so one lucky answer never tops a board.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

MIN_GRADES = 3
MIN_DAYS = 3
KINDS = ("points", "improved", "consistency")


@dataclass(frozen=True)
class Entry:
    """One line of a board: the value it is ranked by and how it is shown."""

    user_id: str
    value: float
    shown: str
    last: datetime
    name: str | None = None
    privacy: str | None = None


def ranked(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (-e.value, e.last, e.user_id))


@dataclass(frozen=True)
class Scored:
    """One user's final grades over a stretch of days: how many, their sum, the last time."""

    user_id: str
    count: int
    total: int
    last: datetime

    @property
    def mean(self) -> float:
        return self.total / self.count


def improved(before: Iterable[Scored], now: Iterable[Scored]) -> list[Entry]:
    """Mean score now minus the mean over the same number of days just before, for users
    with at least MIN_GRADES grades on each side."""
    earlier = {s.user_id: s for s in before if s.count >= MIN_GRADES}
    entries = []
    for s in now:
        was = earlier.get(s.user_id)
        if was is None or s.count < MIN_GRADES:
            continue
        delta = s.mean - was.mean
        entries.append(
            Entry(
                s.user_id,
                delta,
                f"{delta:+.1f} ({was.mean:.1f} -> {s.mean:.1f} mean score)",
                s.last,
            )
        )
    return ranked(entries)


@dataclass(frozen=True)
class UserDays:
    """One user's scheduled days over a board's period, summed over its channels and counted
    by the store (`bot.store.team.Team.user_days`), so a year of a workspace never leaves the
    database as rows. A scheduled day is a channel's local date with a posted scheduled daily
    that is not skipped; it is open while one of its scheduled dailies still is; a channel's
    days count from the user's first answer there (all of the period's when that answer came
    before it; a channel the user never answered in counts nothing).

    `answered`: scheduled days the user answered (any daily of that date); `answered_open`:
    those still open; `closed_since`: the closed scheduled days counted for the user; `last`:
    the user's latest counted answer in the period."""

    user_id: str
    answered: int
    answered_open: int
    closed_since: int
    last: datetime


def consistency(users: Iterable[UserDays]) -> list[Entry]:
    """Share of the scheduled days counted for each user that they answered; users with at
    least MIN_DAYS such days and one answered. A day still open counts only once answered,
    so nobody drops for a daily they can still answer."""
    entries = []
    for u in users:
        total = u.closed_since + u.answered_open
        if not u.answered or total < MIN_DAYS:
            continue
        share = u.answered / total
        entries.append(
            Entry(u.user_id, share, f"{share:.0%} ({u.answered} of {total} days)", u.last)
        )
    return ranked(entries)
