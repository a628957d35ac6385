"""The fair boards beside the points board (docs/design.md "Streaks and points"):
**most improved** and **consistency**, as pure folds over rows the store reads.

Both rank by value, ties to the earlier last counted answer, then the user id, and both
leave out users below their minimum, so one lucky answer never tops a board.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
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
class AnsweredDay:
    user_id: str
    channel_id: str
    local_date: str
    last: datetime


def consistency(
    scheduled: Mapping[str, Mapping[str, bool]],
    answered: Iterable[AnsweredDay],
    first: Mapping[tuple[str, str], str],
) -> list[Entry]:
    """Share of the channels' scheduled days (per channel: local date -> still open) that each
    user answered, counting a channel's days from the user's first answer there (`first`:
    (user, channel) -> local date, "" when it came before the period; a channel the user never
    answered in counts nothing); summed over channels; users with at least MIN_DAYS such days.
    A day still open counts only once answered, so nobody drops for a daily they can still
    answer."""
    closed = {
        c: sorted(d for d, is_open in dates.items() if not is_open)
        for c, dates in scheduled.items()
    }
    mine: dict[str, set[tuple[str, str]]] = {}
    last: dict[str, datetime] = {}
    for a in answered:
        since = first.get((a.user_id, a.channel_id))
        if (
            since is not None
            and a.local_date >= since
            and a.local_date in scheduled.get(a.channel_id, {})
        ):
            mine.setdefault(a.user_id, set()).add((a.channel_id, a.local_date))
        last[a.user_id] = max(last.get(a.user_id, a.last), a.last)
    entries = []
    for user, days in mine.items():
        total = 0
        for channel, dates in closed.items():
            since = first.get((user, channel))
            if since is not None:
                total += len(dates) - bisect_left(dates, since)
        total += sum(1 for channel, day in days if scheduled[channel][day])  # open, answered
        if total < MIN_DAYS:
            continue
        share = len(days) / total
        entries.append(Entry(user, share, f"{share:.0%} ({len(days)} of {total} days)", last[user]))
    return ranked(entries)
