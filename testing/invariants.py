"""A scan of the database for half-written state, for fault tests: what one transaction
writes together must be found together after any crash, rollback or retry."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.tables import answers, dailies, grades, users


async def half_written(db: Database) -> list[str]:
    """Every broken invariant, described; empty when the data is whole."""
    problems: list[str] = []
    async with db.read() as conn:
        orphans = await conn.execute(
            sa.select(answers.c.id)
            .select_from(
                answers.outerjoin(
                    users,
                    (users.c.workspace_id == answers.c.workspace_id)
                    & (users.c.id == answers.c.user_id),
                )
            )
            .where(users.c.id.is_(None))
        )
        problems += [f"answer {r.id} has no user row" for r in orphans]
        rows = await conn.execute(
            sa.select(answers.c.id, answers.c.status, answers.c.score, grades.c.answer_id)
            .select_from(answers.outerjoin(grades, grades.c.answer_id == answers.c.id))
        )
        for r in rows:
            graded = r.status in ("graded", "provisional")
            if graded and (r.answer_id is None or r.score is None):
                problems.append(f"answer {r.id} is {r.status} without its grade")
            if not graded and r.answer_id is not None:
                problems.append(f"answer {r.id} is {r.status} but has a grade row")
        unconfirmed = await conn.execute(
            sa.select(dailies.c.id).where(
                dailies.c.status == "posted", dailies.c.message_id.is_(None)
            )
        )
        problems += [f"daily {r.id} is posted without a message id" for r in unconfirmed]
    return problems
