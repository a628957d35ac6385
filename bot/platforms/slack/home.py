"""The App Home tab: a user's streak and points per drill channel, workspace totals, and the
spaced-repetition reviews due.

Built from the engine's derived views (`Engine.streak`, `queries.board`, the review cards),
all scoped to the workspace of the verified event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.engine import Engine
from bot.core.handlers import period
from bot.core.reviews import due_questions
from bot.core.types import ChannelRef
from bot.platforms.common.text import slack_escape
from bot.platforms.slack.blocks import home_view
from bot.store import queries as q
from bot.store.tables import channels

HINT = (
    "Answer the daily in its thread or with *Answer privately*; `/drill practice` for a "
    "question of your own; `/drill leaderboard`, `/drill history`, `/drill help`."
)
#: Sections a Home tab can hold besides header, divider and hint.
MAX_CHANNELS = 40


def _points(rows: Sequence[Any], user_id: str) -> tuple[int, int | None]:
    """The user's points on a board and rank (None when not on it)."""
    for rank, row in enumerate(rows, 1):
        if row.user_id == user_id:
            return int(row.points), rank
    return 0, None


async def home(engine: Engine, team_id: str, user_id: str) -> dict[str, Any]:
    now = engine.clock.now()
    async with engine.db.read() as conn:
        drill = (
            await conn.execute(
                sa.select(channels.c.id, channels.c.name, channels.c.timezone)
                .where(channels.c.workspace_id == team_id, channels.c.cron.is_not(None))
                .order_by(channels.c.name, channels.c.id)
                .limit(MAX_CHANNELS)
            )
        ).all()
        tz = await q.workspace_timezone(conn, team_id) or engine.config.default_timezone
        start, end = period("week", now, ZoneInfo(tz))
        week, _ = _points(await q.board(conn, team_id, None, start, end), user_id)
        total, rank = _points(await q.board(conn, team_id, None, None, None), user_id)
        due = len(await due_questions(conn, team_id, user_id, now))
        per_channel = []
        for chan in drill:
            c_start, c_end = period("week", now, ZoneInfo(chan.timezone))
            rows = await q.board(conn, team_id, chan.id, c_start, c_end)
            per_channel.append((chan, _points(rows, user_id)[0]))
    where = f"#{rank} in the workspace" if rank else "not on the board yet"
    lines = [f"*Points:* {week} this week, {total} all time ({where})."]
    for chan, chan_week in per_channel:
        streak = await engine.streak(ChannelRef(team_id, chan.id), user_id)
        label = slack_escape(chan.name or chan.id)
        lines.append(
            f"*#{label}*: streak {streak.current} (best {streak.best}), "
            f"freezes {streak.freezes} of 2; {chan_week} points this week."
        )
    if not per_channel:
        lines.append("No drill channel yet: an admin runs `/drill schedule` in a channel.")
    lines.append(
        f"*Reviews due:* {due} (questions you found hard, back on a spaced-repetition "
        "schedule: `/drill practice` or `/drill mock` asks them first)."
        if due
        else "*Reviews due:* none right now."
    )
    return home_view(lines, HINT)
