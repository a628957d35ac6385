"""Cron specs and the local-time slots they produce, with our DST rules.

APScheduler only drives a short tick; slot times come from here (docs/design.md "Time"), because
the rules differ from any cron library's: a local time that does not exist (spring forward)
posts at the first valid minute after it, and an ambiguous one (fall back) posts once, at its
first occurrence. A spec is standard five-field cron (minute hour day month weekday; 0 and 7
are Sunday; names like MON-FRI and JAN); when both day-of-month and weekday are restricted a
day matches either, as in Vixie cron.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import CronError

MAX_SLOTS_PER_DAY = 3
DAY_NAMES = {n: i for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
MONTH_NAMES = {
    n: i + 1
    for i, n in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, MONTH_NAMES),
    _Field("weekday", 0, 7, DAY_NAMES),
)


def _is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts `²` or `٣`, which `int()` then refuses
    (or reads) with Python's own message."""
    return text.isascii() and text.isdigit()


def _value(text: str, field: _Field) -> int:
    upper = text.upper()
    if upper in field.names:
        return field.names[upper]
    if not _is_number(text):
        raise CronError(f"{field.name}: {text!r} is not a number (0-9) or a name")
    number = int(text)
    if not field.low <= number <= field.high:
        raise CronError(f"{field.name}: {number} is outside {field.low}-{field.high}")
    return number


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not _is_number(step_text) or int(step_text) == 0:
                raise CronError(f"{field.name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if body == "*":
            low, high = field.low, field.high
        elif "-" in body:
            start, _, end = body.partition("-")
            low, high = _value(start, field), _value(end, field)
            if low > high:
                raise CronError(f"{field.name}: range {body!r} runs backwards")
        elif body:
            low = _value(body, field)
            high = field.high if step_text else low
        else:
            raise CronError(f"{field.name}: empty value in {text!r}")
        values.update(range(low, high + 1, step))
    if field.name == "weekday" and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True)
class CronSpec:
    """A parsed five-field cron spec."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> CronSpec:
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"a schedule has 5 fields (minute hour day month weekday), "
                f"got {len(parts)}: {text!r}"
            )
        minutes, hours, days, months, weekdays = (
            _parse_field(p, f) for p, f in zip(parts, FIELDS, strict=True)
        )
        spec = cls(
            " ".join(parts),
            minutes,
            hours,
            days,
            months,
            weekdays,
            not parts[2].startswith("*"),
            not parts[4].startswith("*"),
        )
        if len(minutes) * len(hours) > MAX_SLOTS_PER_DAY:
            raise CronError(
                f"{text!r} gives {len(minutes) * len(hours)} slots a day; at most "
                f"{MAX_SLOTS_PER_DAY} are allowed"
            )
        if (year := spec._year_without_slot()) is not None:
            raise CronError(
                f"{text!r} has no slot in {year} (e.g. 31 February never comes): it would be "
                "shown active and never post"
            )
        return spec

    def _year_without_slot(self) -> int | None:
        """A year in which no day matches, or None when every year has one.

        Why every year and not just the next: the parser is pure (no clock), and a spec valid
        only in some years (29 February, or a day of the month that must also be a Monday)
        would leave a channel silent for a year or more while shown active. The Gregorian
        calendar has 14 kinds of year (7 first weekdays, leap or not); 28 consecutive years
        (2001-2028) hold all of them."""
        if len(self.days) >= 28 and len(self.weekdays) == 7:
            return None  # every month has days 1-28: no need to look
        for year in range(2001, 2029):
            day = date(year, 1, 1)
            while day.year == year:
                if self.runs_on(day):
                    break
                day += timedelta(days=1)
            else:
                return year
        return None

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def local_times(self, day: date) -> list[time]:
        """The wall-clock slot times of `day`, earliest first (empty when it does not run)."""
        if not self.runs_on(day):
            return []
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


@dataclass(frozen=True)
class Slot:
    """One scheduled posting: its local date, its label (the spec's HH:MM) and its instant."""

    local_date: date
    label: str
    at: datetime  # aware UTC


def resolve_local(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant for a wall-clock time: first occurrence if ambiguous, the first valid
    minute after it if it falls in a spring-forward gap."""
    candidate = naive.replace(tzinfo=tz, fold=0)
    probe = naive
    while candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != probe:
        probe = probe.replace(second=0, microsecond=0) + timedelta(minutes=1)
        candidate = probe.replace(tzinfo=tz, fold=0)
    return candidate.astimezone(UTC)


def slots_on(spec: CronSpec, day: date, tz: ZoneInfo) -> list[Slot]:
    """The slots of one local date, deduplicated by instant (two gap times can meet)."""
    seen: set[datetime] = set()
    slots: list[Slot] = []
    for t in spec.local_times(day):
        at = resolve_local(datetime.combine(day, t), tz)
        if at not in seen:
            seen.add(at)
            slots.append(Slot(day, t.strftime("%H:%M"), at))
    return slots


def slots_between(spec: CronSpec, tz: ZoneInfo, start: datetime, end: datetime) -> list[Slot]:
    """Slots whose instant lies in [start, end], in order."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    found: list[Slot] = []
    day = first
    while day <= last:
        found.extend(s for s in slots_on(spec, day, tz) if start <= s.at <= end)
        day += timedelta(days=1)
    return found


def next_slot_after(
    spec: CronSpec, tz: ZoneInfo, after: datetime, horizon_days: int = 40
) -> Slot | None:
    """The first slot strictly after `after`, looking at most `horizon_days` ahead."""
    day = after.astimezone(tz).date()
    for _ in range(horizon_days):
        for slot in slots_on(spec, day, tz):
            if slot.at > after:
                return slot
        day += timedelta(days=1)
    return None
