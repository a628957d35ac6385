"""The one definition of a **counted answer**: what boards, streaks, reminders and digests
count (docs/design.md "Streaks and points").

A counted answer is a daily answer given before its daily closed (late answers are stored as
practice, kind `late`) that is not floored (docs/design.md "A non-answer earns nothing"); this
one place holds the rule, so every board, streak, reveal, reminder and digest query follows it.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.tables import answers


def counted(table: sa.FromClause = answers) -> sa.ColumnElement[bool]:
    """The condition every counting query puts on `answers` (or an alias of it)."""
    return sa.and_(table.c.kind == "daily", table.c.floor.is_(None))
