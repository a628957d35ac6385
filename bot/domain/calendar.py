"""Skipped dates: an admin's `/drill skip` dates and a country's public holidays
(docs/design.md "Skip dates and holidays").

A skipped date has no slot: nothing is posted and, for streaks, it is like a weekend. The
holidays come from the `holidays` package (its ISO 3166 country codes and subdivision
codes); it is imported on first use, so start-up does not pay for its country tables.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache
from typing import Any

from bot.errors import UsageError

#: How far ahead an admin may skip (today included).
SKIP_AHEAD_DAYS = 366
#: Close matches offered for an unknown holidays code.
SUGGESTIONS = 3


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def parse_range(text: str) -> tuple[date, date]:
    """`2026-12-24` or `2026-12-24..2026-12-31` (both ends included)."""
    first, sep, last = text.partition("..")
    start = parse_date(first)
    end = parse_date(last) if sep else start
    if end < start:
        raise UsageError(f"{text!r}: the range ends before it starts")
    if (end - start).days >= SKIP_AHEAD_DAYS:
        raise UsageError(f"{text!r}: a range covers at most {SKIP_AHEAD_DAYS} days")
    return start, end


def check_skip_range(start: date, end: date, today: date) -> None:
    """Today up to 366 days ahead; past dates are refused."""
    if start < today:
        raise UsageError(f"{start} is in the past (today is {today} here); nothing saved")
    last = today + timedelta(days=SKIP_AHEAD_DAYS)
    if end > last:
        raise UsageError(f"{end} is more than {SKIP_AHEAD_DAYS} days ahead (until {last})")


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@cache
def _supported() -> dict[str, tuple[str, ...]]:
    import holidays

    countries: dict[str, Any] = holidays.list_supported_countries()
    return {code: tuple(subdivs) for code, subdivs in countries.items()}


def valid_codes() -> list[str]:
    """Every `CC` and `CC-SUBDIV` the holidays package knows."""
    codes: list[str] = []
    for country, subdivs in _supported().items():
        codes.append(country)
        codes.extend(f"{country}-{s}" for s in subdivs)
    return codes


def check_holidays(text: str) -> str | None:
    """`US`, `DE-BY` (case-insensitive) or `none`; an unknown code is refused with the
    closest valid ones."""
    code = text.strip().upper()
    if code == "NONE":
        return None
    country, _, subdiv = code.partition("-")
    supported = _supported()
    if country in supported and (not subdiv or subdiv in supported[country]):
        return code
    close = difflib.get_close_matches(code, valid_codes(), n=SUGGESTIONS, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UsageError(f"holidays {text!r}: unknown country or subdivision code{hint}")


@cache
def _holidays_of_year(code: str, year: int) -> frozenset[date]:
    import holidays

    country, _, subdiv = code.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdiv or None, years=year))


def holiday_dates(code: str | None, start: date, end: date) -> set[date]:
    """The public holidays of `code` between `start` and `end` (included)."""
    if not code:
        return set()
    found: set[date] = set()
    for year in range(start.year, end.year + 1):
        found |= {d for d in _holidays_of_year(code, year) if start <= d <= end}
    return found


def skipped(manual: Iterable[date], holidays_code: str | None, start: date, end: date) -> set[date]:
    """Every skipped date between `start` and `end`: the admin's and the holidays."""
    return {d for d in manual if start <= d <= end} | holiday_dates(holidays_code, start, end)
