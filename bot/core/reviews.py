"""Spaced repetition: one FSRS card per user and question, moved by every graded answer.

The score maps to an FSRS rating (0-3 Again, 4-6 Hard, 7-8 Good, 9-10 Easy). Learning steps
are a day rather than FSRS's default minutes: an interview question answered badly should
come back tomorrow, not ten minutes later in the same sitting. Fuzzing is off so a review
schedule is reproducible (tests inject the clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from fsrs import Card, Rating, Scheduler
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import upsert
from bot.store.tables import reviews

SCHEDULER = Scheduler(
    learning_steps=(timedelta(days=1),),
    relearning_steps=(timedelta(days=1),),
    enable_fuzzing=False,
)


def rating(score: int) -> Rating:
    if score <= 3:
        return Rating.Again
    if score <= 6:
        return Rating.Hard
    return Rating.Good if score <= 8 else Rating.Easy


def _card_id(now: datetime) -> int:
    """fsrs's own scheme (creation time in epoch milliseconds), minus the sleep; the id is
    informational, the row's key is (workspace, user, question)."""
    return int(now.timestamp() * 1000)


async def record_review(
    conn: AsyncConnection,
    workspace_id: str,
    user_id: str,
    question_id: str,
    score: int,
    now: datetime,
) -> datetime:
    """Move the user's card for this question by this score; return when it is due next."""
    stored = await conn.scalar(
        sa.select(reviews.c.card).where(
            reviews.c.workspace_id == workspace_id,
            reviews.c.user_id == user_id,
            reviews.c.question_id == question_id,
        )
    )
    # A new card gets its id from our keys: without one, fsrs sleeps 1 ms (on the event loop)
    # to make a timestamp id unique.
    card = Card.from_dict(stored) if stored else Card(card_id=_card_id(now), due=now)
    card, _log = SCHEDULER.review_card(card, rating(score), now)
    values = {
        "workspace_id": workspace_id,
        "user_id": user_id,
        "question_id": question_id,
        "card": card.to_dict(),
        "due": card.due,
        "last_score": score,
        "reviewed_at": now,
    }
    await conn.execute(upsert(conn, reviews, values, ["workspace_id", "user_id", "question_id"]))
    return card.due


async def due_questions(
    conn: AsyncConnection, workspace_id: str, user_id: str, now: datetime
) -> list[str]:
    """Question ids whose review is due, most overdue first."""
    rows = await conn.execute(
        sa.select(reviews.c.question_id)
        .where(
            reviews.c.workspace_id == workspace_id,
            reviews.c.user_id == user_id,
            reviews.c.due <= now,
        )
        .order_by(reviews.c.due)
    )
    return list(rows.scalars())


async def topic_scores(
    conn: AsyncConnection, workspace_id: str, user_id: str
) -> Sequence[tuple[str, int]]:
    """(question id, latest score) of every question the user has a card for."""
    rows = await conn.execute(
        sa.select(reviews.c.question_id, reviews.c.last_score).where(
            reviews.c.workspace_id == workspace_id, reviews.c.user_id == user_id
        )
    )
    return [(r.question_id, r.last_score) for r in rows]
