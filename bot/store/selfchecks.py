"""Self-checks: a learner's marks kept beside the grader's, and the review they replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.selfcheck import Overrules, tally
from bot.store.db import Database, upsert
from bot.store.tables import answers, grades, reviews, self_checks


@dataclass(frozen=True)
class Checkable:
    """What a self-check of one answer reads: the grade as the grader gave it, the
    learner's earlier marks (None before any), and the review card it may replay (the card
    before the answer, `{"card": None}` for a new one; None when a later review moved it)."""

    detail: dict[str, Any]
    graded_at: datetime
    marks: list[dict[str, Any]] | None
    card_before: dict[str, Any] | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class Replay:
    """The review card after replaying the answer's review with the learner's score."""

    card: dict[str, Any]
    due: datetime
    score: int


class SelfChecks:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def checkable(self, answer_id: int) -> Checkable | None:
        """None when the answer has no grade."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        grades.c.detail,
                        grades.c.graded_at,
                        self_checks.c.marks,
                        answers.c.card_before,
                        reviews.c.reviewed_at,
                    )
                    .select_from(answers)
                    .join(grades, grades.c.answer_id == answers.c.id)
                    .join(self_checks, self_checks.c.answer_id == answers.c.id, isouter=True)
                    .join(
                        reviews,
                        sa.and_(
                            reviews.c.workspace_id == answers.c.workspace_id,
                            reviews.c.user_id == answers.c.user_id,
                            reviews.c.question_id == answers.c.question_id,
                            reviews.c.answer_id == answers.c.id,
                        ),
                        isouter=True,
                    )
                    .where(answers.c.id == answer_id)
                )
            ).first()
        if row is None:
            return None
        replayable = row.reviewed_at is not None and row.card_before is not None
        return Checkable(
            row.detail,
            row.graded_at,
            row.marks,
            row.card_before if replayable else None,
            row.reviewed_at if replayable else None,
        )

    async def save(
        self,
        *,
        answer_id: int,
        workspace_id: str,
        user_id: str,
        question_id: str,
        marks: Sequence[dict[str, Any]],
        score: int,
        grader_score: int,
        now: datetime,
        replay: Replay | None,
    ) -> None:
        """Keep the learner's marks (replacing earlier ones of this answer) and, with a
        replay, the card re-reviewed from before the answer, if this answer still moved it
        last; one transaction."""
        row = {
            "answer_id": answer_id,
            "workspace_id": workspace_id,
            "user_id": user_id,
            "question_id": question_id,
            "marks": list(marks),
            "score": score,
            "grader_score": grader_score,
            "checked_at": now,
        }
        async with self.db.write() as conn:
            await conn.execute(upsert(conn, self_checks, row, ["answer_id"]))
            if replay is not None:
                await conn.execute(
                    reviews.update()
                    .where(
                        reviews.c.workspace_id == workspace_id,
                        reviews.c.user_id == user_id,
                        reviews.c.question_id == question_id,
                        reviews.c.answer_id == answer_id,
                    )
                    .values(card=replay.card, due=replay.due, last_score=replay.score)
                )

    async def overrules(self, workspace_id: str | None = None) -> Overrules:
        """Per workspace, question and key point: how often learners overruled the grader
        (for `drillbot eval checks`)."""
        query = sa.select(
            self_checks.c.workspace_id, self_checks.c.question_id, self_checks.c.marks
        )
        if workspace_id is not None:
            query = query.where(self_checks.c.workspace_id == workspace_id)
        async with self.db.read() as conn:
            return tally(
                (r.workspace_id, r.question_id, r.marks) for r in await conn.execute(query)
            )
