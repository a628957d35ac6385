"""Grading jobs: a pending or provisional answer is a durable grading job, leased by the
process grading it (the scale-out profile, docs/design.md "Platforms and operations").

The job is the answer row itself (`answers.status`, `attempts`, `retry_at`, and the lease in
`lease_owner`/`lease_at`), so storing an answer and queueing its grading are one write and no
answer can be stored without its job. A process takes a job before grading it (`take`: the
process that stored it, at once) or claims due jobs in bulk when it has capacity (`claim`, with
`FOR UPDATE SKIP LOCKED`); its heartbeat renews the leases it holds; a finished, failed or
rejected grading releases the lease. A job whose process died is claimable once its lease
lapsed. One grade row per answer is the grades table's key plus the store's guard (a grade is
written only while the answer is as it was read), so two processes grading one answer after a
lease lapsed still leave one grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database
from bot.store.group import GroupCommit
from bot.store.reserve import Holder, Work
from bot.store.rows import AnswerRow
from bot.store.tables import answers

OWED = ("pending", "provisional")
GRADING = Work(
    name="grading",
    table=answers,
    done=answers.c.status.not_in(OWED),
    lease=answers.c.lease_at,
    confirm=("status",),
    owner=answers.c.lease_owner,
)


@dataclass(frozen=True)
class _Take:
    answer_id: int
    now: datetime


class GradingJobs:
    def __init__(self, db: Database, holder: Holder) -> None:
        self.db = db
        self.holder = holder
        self._takes: GroupCommit[_Take, AnswerRow | None] = GroupCommit(db, self._take_batch)

    async def take(self, answer_id: int, now: datetime) -> AnswerRow | None:
        """Lease one job for this process (free, lapsed, or already ours); the answer as it
        is now, or None when another process holds it or it needs no grading. Concurrent
        takes share a transaction."""
        return await self._takes.submit(_Take(answer_id, now))

    async def _take_batch(
        self, conn: AsyncConnection, items: list[_Take]
    ) -> list[AnswerRow | None]:
        now = max(t.now for t in items)
        rows = await conn.execute(
            answers.update()
            .where(
                answers.c.id.in_([t.answer_id for t in items]),
                sa.not_(GRADING.done),
                *GRADING._lapsed(self.holder.lapsed_before(now), self.holder.owner),
            )
            .values(lease_owner=self.holder.owner, lease_at=now)
            .returning(*answers.c)
        )
        won = {r.id: AnswerRow.of(r) for r in rows}
        return [won.pop(t.answer_id, None) for t in items]  # a second take of one id: None

    async def claim(self, now: datetime, max_attempts: int, limit: int) -> list[AnswerRow]:
        """Lease up to `limit` due jobs nobody holds: pending ones first, oldest first. An
        answer never tried and never leased belongs to the process that stored it for one
        lease length (it is about to grade it, or grades it at once for a mock interview)."""
        if limit <= 0:
            return []
        lapsed = self.holder.lapsed_before(now)
        due = (
            GRADING.owed(
                answers.c.attempts < max_attempts,
                sa.or_(answers.c.retry_at.is_(None), answers.c.retry_at <= now),
                sa.or_(
                    answers.c.lease_at.is_not(None),
                    answers.c.attempts > 0,
                    sa.func.coalesce(answers.c.edited_at, answers.c.answered_at) < lapsed,
                ),
                lease_before=lapsed,
            )
            .with_only_columns(answers.c.id)
            .order_by(None)
            .order_by(sa.case((answers.c.status == "pending", 0), else_=1), answers.c.id)
        )
        async with self.db.write() as conn:
            rows = await GRADING.claim(conn, due, now, self.holder.owner, limit)
        return sorted((AnswerRow.of(r) for r in rows), key=lambda a: a.id)

    async def release(self, answer_id: int) -> None:
        """Give a job back (its grading was rejected: the answer changed meanwhile)."""
        async with self.db.write() as conn:
            await conn.execute(
                answers.update()
                .where(answers.c.id == answer_id, answers.c.lease_owner == self.holder.owner)
                .values(lease_owner=None, lease_at=None)
            )

    async def renew(self, owner: str, now: datetime) -> int:
        async with self.db.write() as conn:
            return await GRADING.renew(conn, owner, now)
