"""Review cards (spaced repetition): read and moved by the domain's FSRS rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.reviews import next_card
from bot.store.db import Database, upsert
from bot.store.tables import answers, reviews

CARD_KEY = ["workspace_id", "user_id", "question_id"]
#: (workspace, user, question, score, the answer whose grade moves the card or None)
Move = tuple[str, str, str, int, int | None]


async def move_cards(conn: AsyncConnection, moves: Sequence[Move], now: datetime) -> None:
    """Move the cards (workspace, user, question, score, answer id or None) by their scores:
    one read and one upsert for the whole batch. A move naming an answer keeps the card as it
    was before on that answer (`answers.card_before`) and the card names that answer, so a
    self-check can replay the review with another score."""
    if not moves:
        return
    keys = list({(w, u, q) for w, u, q, _, _ in moves})
    stored = {
        (r.workspace_id, r.user_id, r.question_id): r.card
        for r in await conn.execute(
            sa.select(
                reviews.c.workspace_id, reviews.c.user_id, reviews.c.question_id, reviews.c.card
            ).where(
                sa.tuple_(reviews.c.workspace_id, reviews.c.user_id, reviews.c.question_id).in_(
                    keys
                )
            )
        )
    }
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    before: list[dict[str, Any]] = []
    for workspace_id, user_id, question_id, score, answer_id in moves:
        key = (workspace_id, user_id, question_id)
        if answer_id is not None:
            before.append({"_id": answer_id, "card_before": {"card": stored.get(key)}})
        card, due = next_card(stored.get(key), score, now)
        stored[key] = card
        rows[key] = {
            "workspace_id": workspace_id,
            "user_id": user_id,
            "question_id": question_id,
            "card": card,
            "due": due,
            "last_score": score,
            "reviewed_at": now,
            "answer_id": answer_id,
        }
    values = list(rows.values())
    await conn.execute(
        upsert(conn, reviews, {k: sa.bindparam(k) for k in values[0]}, CARD_KEY), values
    )
    if before:
        # The first review of an answer keeps the card before it; a regrade's does not
        # overwrite it, so a self-check replays from before the answer, not from between.
        await conn.execute(
            answers.update().where(
                answers.c.id == sa.bindparam("_id"), answers.c.card_before.is_(None)
            ),
            before,
        )


class Reviews:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, workspace_id: str, user_id: str, question_id: str, score: int, now: datetime
    ) -> None:
        async with self.db.write() as conn:
            await move_cards(conn, [(workspace_id, user_id, question_id, score, None)], now)

    async def due(self, workspace_id: str, user_id: str, now: datetime) -> list[str]:
        """Question ids whose review is due, most overdue first."""
        async with self.db.read() as conn:
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

    async def latest_scores(self, workspace_id: str, user_id: str) -> list[tuple[str, int]]:
        """(question id, latest score) of every question the user has a card for."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(reviews.c.question_id, reviews.c.last_score).where(
                    reviews.c.workspace_id == workspace_id, reviews.c.user_id == user_id
                )
            )
            return [(r.question_id, r.last_score) for r in rows]
