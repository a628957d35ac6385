"""Time as a dependency: the core asks a clock for "now" so tests and demos can move it; and
timezone names, checked once for settings, commands and cron specs alike.

All times are aware UTC datetimes. `ManualClock` is moved by tests; `ScaledClock` runs faster
than real time for the console demo (`drillbot run --speed 600` makes a minute pass in 0.1 s).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ScaledClock:
    """Real time sped up by `factor`, starting from `start` (default: the real now)."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        self.factor = factor
        self._origin = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._t0) * self.factor
        return self._origin + timedelta(seconds=elapsed)


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`, or a ValueError that says what a valid name looks like."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}: use an IANA name like Europe/Berlin") from exc
