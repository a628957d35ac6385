"""Board periods: the ISO week or calendar month containing a moment, in a timezone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def period(scope: str, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the ISO week or calendar month containing `now`, in `tz`; all-time is
    unbounded."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if scope == "week":
        start = midnight - timedelta(days=local.isoweekday() - 1)
        end = start + timedelta(days=7)
    elif scope == "month":
        start = midnight.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        return None, None
    # zoneinfo datetimes keep wall time under arithmetic, so both stay local midnights
    # with the right offset even across a DST change.
    return start, end
