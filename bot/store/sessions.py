"""Mock interview sessions and their items, and the practice question a user has waiting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.reviews import move_cards
from bot.store.rows import MockItemRow, PracticeRow, SessionRow
from bot.store.tables import mock_items, mock_sessions, practice


class Sessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- practice ---------------------------------------------------------------------------

    async def start_practice(
        self, workspace_id: str, user_id: str, channel_id: str, question_id: str, now: datetime
    ) -> None:
        """The user's one waiting practice question (replacing any earlier one)."""
        async with self.db.write() as conn:
            await conn.execute(
                practice.delete().where(
                    practice.c.workspace_id == workspace_id, practice.c.user_id == user_id
                )
            )
            await conn.execute(
                practice.insert().values(
                    workspace_id=workspace_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    question_id=question_id,
                    started_at=now,
                )
            )

    async def waiting_practice(
        self, workspace_id: str, user_id: str, since: datetime
    ) -> PracticeRow | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(practice).where(
                        practice.c.workspace_id == workspace_id,
                        practice.c.user_id == user_id,
                        practice.c.started_at >= since,
                    )
                )
            ).first()
        return PracticeRow.of(row) if row else None

    # -- mock sessions ----------------------------------------------------------------------

    async def current(self, workspace_id: str, user_id: str) -> SessionRow | None:
        """The user's latest unfinished session."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(mock_sessions)
                    .where(
                        mock_sessions.c.workspace_id == workspace_id,
                        mock_sessions.c.user_id == user_id,
                        mock_sessions.c.state != "finished",
                    )
                    .order_by(mock_sessions.c.id.desc())
                    .limit(1)
                )
            ).first()
        return SessionRow.of(row) if row else None

    async def last_questions(self, workspace_id: str, user_id: str) -> list[str]:
        """The questions of the user's latest session (for `mock again`)."""
        async with self.db.read() as conn:
            ids = await conn.scalar(
                sa.select(mock_sessions.c.question_ids)
                .where(
                    mock_sessions.c.workspace_id == workspace_id,
                    mock_sessions.c.user_id == user_id,
                )
                .order_by(mock_sessions.c.id.desc())
                .limit(1)
            )
        return list(ids or [])

    async def create(
        self,
        workspace_id: str,
        user_id: str,
        channel_id: str,
        question_ids: Sequence[str],
        now: datetime,
    ) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                mock_sessions.insert().values(
                    workspace_id=workspace_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    state="active",
                    question_ids=list(question_ids),
                    position=0,
                    started_at=now,
                    active_at=now,
                )
            )

    async def update(self, session_id: int, **values: Any) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                mock_sessions.update().where(mock_sessions.c.id == session_id).values(**values)
            )

    async def missed(self, session_id: int, position: int) -> list[str] | None:
        """Key points the first answer at this position missed; None before any answer."""
        async with self.db.read() as conn:
            return await conn.scalar(
                sa.select(mock_items.c.missed).where(
                    mock_items.c.session_id == session_id, mock_items.c.position == position
                )
            )

    async def record_item(
        self,
        session: SessionRow,
        question_id: str,
        outcome: str,
        score: int | None,
        missed: Sequence[str],
        session_values: dict[str, Any] | None = None,
        review: tuple[int, datetime] | None = None,
    ) -> None:
        """The outcome of the session's current question (with the session's next state and,
        for a skip, the review card it moves), in one transaction."""
        async with self.db.write() as conn:
            await conn.execute(
                mock_items.insert().values(
                    session_id=session.id,
                    position=session.position,
                    question_id=question_id,
                    outcome=outcome,
                    score=score,
                    hinted=session.hinted,
                    missed=list(missed),
                )
            )
            if session_values:
                await conn.execute(
                    mock_sessions.update()
                    .where(mock_sessions.c.id == session.id)
                    .values(**session_values)
                )
            if review is not None:
                score_, at = review
                await move_cards(
                    conn, [(session.workspace_id, session.user_id, question_id, score_, None)], at
                )

    async def record_follow_up(self, session: SessionRow, score: int | None) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                mock_items.update()
                .where(
                    mock_items.c.session_id == session.id,
                    mock_items.c.position == session.position,
                )
                .values(follow_up_score=score)
            )

    async def finish(self, session_id: int) -> list[MockItemRow]:
        """Mark the session finished; its items, in order."""
        async with self.db.write() as conn:
            await conn.execute(
                mock_sessions.update()
                .where(mock_sessions.c.id == session_id)
                .values(state="finished")
            )
            rows = await conn.execute(
                sa.select(mock_items)
                .where(mock_items.c.session_id == session_id)
                .order_by(mock_items.c.position)
            )
            return [MockItemRow.of(r) for r in rows]
