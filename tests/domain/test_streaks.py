"""Streak folding and points (docs/design.md "Streaks and points"), as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.streaks import Day, fold_streak, points_for


def days(pattern: str, start: date = date(2026, 1, 5)) -> list[Day]:
    """One char a day: A answered scheduled, m missed scheduled, x answered extra-only,
    e unanswered extra-only, o open today (unanswered)."""
    out = []
    for i, ch in enumerate(pattern):
        out.append(
            Day(
                start + timedelta(days=i),
                scheduled=ch in "Amo",
                answered=ch in "Ax",
                open=ch == "o",
            )
        )
    return out


def test_consecutive_scheduled_days() -> None:
    s = fold_streak(days("AAA"))
    assert (s.current, s.best) == (3, 3)


def test_missed_day_breaks_and_best_is_kept() -> None:
    s = fold_streak(days("AAAmAA"))
    assert (s.current, s.best) == (2, 3)


def test_days_without_a_daily_neither_extend_nor_break() -> None:
    # Weekends and paused days simply have no Day rows.
    history = [Day(date(2026, 1, 9), True, True), Day(date(2026, 1, 12), True, True)]
    assert fold_streak(history).current == 2


def test_extra_only_day_extends_when_answered_and_never_breaks() -> None:
    assert fold_streak(days("AxA")).current == 3
    assert fold_streak(days("AeA")).current == 2


def test_open_day_does_not_break_yet() -> None:
    assert fold_streak(days("AAo")).current == 2


def test_freeze_earned_every_seven_and_spent_on_a_miss() -> None:
    s = fold_streak(days("AAAAAAA"))
    assert s.freezes == 1
    s = fold_streak(days("AAAAAAAmA"))
    assert (s.current, s.freezes, s.freezes_used) == (8, 0, 1)
    s = fold_streak(days("AAAAAAAmm"))
    assert s.current == 0


def test_at_most_two_freezes() -> None:
    assert fold_streak(days("A" * 28)).freezes == 2


def test_extra_days_do_not_earn_freezes() -> None:
    assert fold_streak(days("AAAxAAA")).freezes == 0


def test_points_breakdown() -> None:
    posted = datetime(2026, 1, 5, 9, tzinfo=UTC)
    p = points_for(7, posted + timedelta(minutes=59), posted, 8)
    assert (p.total, p.early, p.streak) == (14, 2, 5)
    assert points_for(7, posted + timedelta(hours=2), posted, 1).total == 8
