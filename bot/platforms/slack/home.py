"""The App Home tab: a user's streak and points per drill channel, workspace totals, and the
spaced-repetition reviews due, rendered from the core's dashboard (`Inbound.home`), which
`/drill stats` shares.
"""

from __future__ import annotations

from typing import Any

from bot.domain.standing import Home
from bot.platforms.common.text import slack_escape
from bot.platforms.slack.blocks import home_view

HINT = (
    "Answer the daily in its thread or with *Answer privately*; `/drill practice` for a "
    "question of your own; `/drill leaderboard`, `/drill history`, `/drill help`."
)


def home_view_of(standing: Home) -> dict[str, Any]:
    rank = standing.rank
    where = f"#{rank} in the workspace" if rank else "not on the board yet"
    lines = [
        f"*Points:* {standing.week_points} this week, {standing.total_points} all time ({where})."
    ]
    lines.append(f"*{standing.bests.text()}*")
    for chan in standing.channels:
        streak = chan.streak
        lines.append(
            f"*#{slack_escape(chan.name)}*: streak {streak.current} (best {streak.best}), "
            f"freezes {streak.freezes} of 2; {chan.week_points} points this week."
        )
    if not standing.channels:
        lines.append("No drill channel yet: an admin runs `/drill schedule` in a channel.")
    due = standing.reviews_due
    lines.append(
        f"*Reviews due:* {due} (questions you found hard, back on a spaced-repetition "
        "schedule: `/drill practice` or `/drill mock` asks them first)."
        if due
        else "*Reviews due:* none right now."
    )
    return home_view(lines, HINT)
