"""The one command parser: usage on bad input, checked values."""

from __future__ import annotations

import pytest

from bot.domain.commands import Command, parse, parse_window
from bot.errors import UsageError


def test_bare_drill_is_help() -> None:
    assert parse("") == Command("help")
    assert parse("/drill") == Command("help")


def test_leaderboard_options_in_any_order() -> None:
    assert parse("leaderboard workspace month").args == {
        "kind": "points",
        "scope": "month",
        "board": "workspace",
    }
    assert parse("leaderboard").args == {"kind": "points", "scope": "week", "board": "channel"}
    assert parse("leaderboard month consistency").args["kind"] == "consistency"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frobnicate", "unknown command 'frobnicate'"),
        ("leaderboard yearly", "Usage: /drill leaderboard"),
        ("streak now", "takes no arguments"),
        ("privacy hidden", "public"),
        ("schedule 0 9 * *", "5 cron fields"),
        ("schedule 0 9 * * MON tz=Nowhere/Land", "unknown timezone 'Nowhere/Land'"),
        ("schedule 0 99 * * *", "hour: 99"),
        ("config window=forever", "window 'forever'"),
        ("config difficulty=extreme", "difficulty must be"),
        ("config colour=blue", "unknown option"),
        ('config tz="Europe/Berlin', "quotation"),
        ("leaderboard improved all", "not `all`"),
        ("remind maybe", "Usage: /drill remind on\\|off"),
        ("config remind=soon", "remind 'soon'"),
        ("config digest=weekly", "digest must be"),
        ("config holidays=DE-BZ", "did you mean DE-"),
        ("config holidays=Narnia", "unknown country"),
        ("skip 2026-02-30", "not a date"),
        ("skip 2026-12-26..2026-12-24", "ends before it starts"),
        ("skip 2026-01-01..2027-06-01", "at most 366 days"),
        ("skip clear", "takes one date"),
        ("skip tomorrow", "not a date"),
    ],
)
def test_malformed_commands_get_usage(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse(text)


def test_schedule_with_options() -> None:
    cmd = parse(
        "schedule 30 8 * * MON-FRI tz=Asia/Kathmandu topics=llm,mlops difficulty=hard "
        "window=2h feedback=thread"
    )
    assert cmd.args == {
        "cron": "30 8 * * MON-FRI",
        "timezone": "Asia/Kathmandu",
        "topics": ["llm", "mlops"],
        "difficulty": "hard",
        "window_minutes": 120,
        "feedback": "thread",
    }


def test_window_units() -> None:
    assert parse_window("1h30m") == 90
    assert parse_window("2d") == 2880
    with pytest.raises(UsageError):
        parse_window("1m")


@pytest.mark.parametrize(
    "text",
    [
        "config window=99999999999d",
        "regrade 99999999999999999999999",
        "override 1 11",
        "override x 5",
        "mock n=²",
    ],
)
def test_out_of_range_numbers_get_usage_not_a_crash(text: str) -> None:
    with pytest.raises(UsageError, match="Usage: /drill"):
        parse(text)
