"""Cron specs and slot times, DST days included (docs/design.md "Time")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.cronspec import CronSpec, next_slot_after, resolve_local, slots_between, slots_on
from bot.errors import CronError


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("0 9 * *", "5 fields"),
        ("61 9 * * *", "minute: 61 is outside 0-59"),
        ("0 25 * * *", "hour: 25"),
        ("0 9 * * FUNDAY", "weekday: 'FUNDAY'"),
        ("0 9 * * 5-1", "runs backwards"),
        ("*/10 9 * * *", "6 slots a day"),
        ("0 9 * * */0", "step"),
    ],
)
def test_bad_specs_name_the_field(spec: str, error: str) -> None:
    with pytest.raises(CronError, match=error):
        CronSpec.parse(spec)


def test_names_and_sunday_as_seven() -> None:
    spec = CronSpec.parse("0 9 * * MON-FRI")
    assert spec.weekdays == {1, 2, 3, 4, 5}
    assert CronSpec.parse("0 9 * * 7").weekdays == {0}
    assert CronSpec.parse("0 9 * JAN,dec sun").months == {1, 12}
    assert not spec.runs_on(date(2026, 11, 21))  # a Saturday
    assert spec.runs_on(date(2026, 11, 23))


def test_day_of_month_or_weekday_like_vixie_cron() -> None:
    spec = CronSpec.parse("0 9 1 * MON")
    assert spec.runs_on(date(2026, 12, 1))  # a Tuesday, but the 1st
    assert spec.runs_on(date(2026, 12, 7))  # a Monday
    assert not spec.runs_on(date(2026, 12, 8))


def test_spring_forward_posts_at_first_valid_minute() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    [slot] = slots_on(CronSpec.parse("30 2 * * *"), date(2026, 3, 29), berlin)
    assert slot.at == utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert slot.label == "02:30"


def test_fall_back_posts_once_at_first_occurrence() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    slots = slots_between(
        CronSpec.parse("30 2 * * *"), berlin, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)
    )
    assert [s.at for s in slots] == [utc(2026, 10, 25, 0, 30)]  # 02:30 CEST, not CET


def test_new_york_gap_and_overlap() -> None:
    ny = ZoneInfo("America/New_York")
    assert resolve_local(datetime(2026, 3, 8, 2, 15), ny) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert resolve_local(datetime(2026, 11, 1, 1, 30), ny) == utc(2026, 11, 1, 5, 30)  # EDT


def test_lord_howe_half_hour_shift() -> None:
    lh = ZoneInfo("Australia/Lord_Howe")  # +10:30 -> +11 on 2026-10-04 at 02:00
    assert resolve_local(datetime(2026, 10, 4, 2, 10), lh) == resolve_local(
        datetime(2026, 10, 4, 2, 30), lh
    )
    assert (
        resolve_local(datetime(2026, 10, 4, 2, 30), lh).astimezone(lh).strftime("%H:%M") == "02:30"
    )
    # Fall back (+11 -> +10:30 on 2026-04-05 at 02:00): 01:45 happens twice; the first counts.
    assert resolve_local(datetime(2026, 4, 5, 1, 45), lh) == utc(2026, 4, 4, 14, 45)


def test_kathmandu_has_no_dst_and_a_quarter_hour_offset() -> None:
    ktm = ZoneInfo("Asia/Kathmandu")
    [slot] = slots_on(CronSpec.parse("0 9 * * *"), date(2026, 3, 29), ktm)
    assert slot.at == utc(2026, 3, 29, 3, 15)


def test_two_gap_times_meet_once() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    slots = slots_on(CronSpec.parse("15,45 2 * * *"), date(2026, 3, 29), berlin)
    assert [s.at for s in slots] == [utc(2026, 3, 29, 1, 0)]


def test_next_slot_skips_weekend() -> None:
    spec = CronSpec.parse("0 9 * * MON-FRI")
    nxt = next_slot_after(spec, ZoneInfo("UTC"), utc(2026, 11, 20, 9, 0))
    assert nxt is not None and nxt.at == utc(2026, 11, 23, 9, 0)


def test_a_stepped_star_is_unrestricted_like_vixie_cron() -> None:
    spec = CronSpec.parse("0 9 */2 * MON")  # odd days that are Mondays
    assert not spec.runs_on(date(2026, 11, 25))  # an odd Wednesday
    assert spec.runs_on(date(2026, 11, 23)) and not spec.runs_on(date(2026, 11, 30))


@pytest.mark.parametrize(
    "spec", ["0 9 31 2 *", "0 9 30 2 *", "0 9 31 4,6,9,11 *", "0 9 29 2 *", "0 9 */40 2 MON"]
)
def test_finding18_a_spec_with_no_slot_in_a_year_is_refused(spec: str) -> None:
    """Issue 12, finding 18: `0 9 31 2 *` was accepted and shown active but never fired."""
    with pytest.raises(CronError, match="has no slot in"):
        CronSpec.parse(spec)


@pytest.mark.parametrize("spec", ["0 9 31 * *", "0 9 28 2 *", "0 9 31 2 MON", "0 9 1 * 1"])
def test_finding18_a_spec_with_a_slot_every_year_is_accepted(spec: str) -> None:
    CronSpec.parse(spec)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("0 ² * * *", "hour: '²'"),
        ("٣ 9 * * *", "minute: '٣'"),
        ("0 9 * * 1-５", "weekday: '５'"),
        ("0 9 */² * *", "step '²'"),
    ],
)
def test_finding18_only_ascii_digits_with_our_own_message(spec: str, field: str) -> None:
    """`²` passed `str.isdigit` and reached `int()`, whose error text the user saw."""
    with pytest.raises(CronError) as refused:
        CronSpec.parse(spec)
    assert field in str(refused.value)
    assert "invalid literal" not in str(refused.value)
