"""Reserve once: the one primitive for time-driven work (posts and reveals today).

Every piece of such work has a natural key (a post: workspace, channel, local date, slot; a
reveal: its daily) and a row that records it. The work is

1. **reserved** under that key before it is done (an insert that skips an existing key, or an
   update that moves a row from "to do" to "reserved"): whoever wins the row does the work;
2. **done** (the platform call, outside any transaction);
3. **confirmed** with its result (a message id, a time).

A reservation left unconfirmed (a crash between 1 and 3) is **owed**: whoever takes it over
must first look up whether the work happened anyway (the platform's metadata) before redoing
it. A reservation carries a lease column (when its holder started): an owed reservation can be
taken only once its lease has lapsed, so two workers never do the same piece at once. The
scale-out profile adds an `owner` column beside the lease; the statements below only gain one
more condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database


@dataclass(frozen=True)
class Work:
    """One kind of time-driven work and the columns of its record.

    `done`: the condition of a confirmed row; `lease`: the column holding when the current
    holder started (None when the work has no lease: any later try may take it);
    `confirm`: the columns a confirmation writes (their values come per record)."""

    name: str
    table: sa.Table
    done: sa.ColumnElement[bool]
    lease: sa.Column[Any] | None
    confirm: tuple[str, ...]

    async def reserve_many(
        self, conn: AsyncConnection, db: Database, rows: Sequence[Mapping[str, Any]]
    ) -> list[sa.Row[Any]]:
        """Insert many records in one statement; the rows this caller won (a key already
        reserved is skipped)."""
        result = await conn.execute(db.insert_ignore(self.table).returning(*self.table.c), rows)
        return list(result.all())

    async def move(
        self,
        conn: AsyncConnection,
        where: Sequence[sa.ColumnElement[bool]],
        values: Mapping[str, Any],
    ) -> bool:
        """Reserve by moving an existing row (e.g. an open daily to closed); True when this
        caller moved it (nobody else did first)."""
        moved = await conn.execute(self.table.update().where(*where).values(**values))
        return bool(moved.rowcount)

    def _lapsed(self, lease_before: datetime | None) -> list[sa.ColumnElement[bool]]:
        if self.lease is None or lease_before is None:
            return []
        return [sa.or_(self.lease.is_(None), self.lease < lease_before)]

    def owed(
        self, *conditions: sa.ColumnElement[bool], lease_before: datetime | None = None
    ) -> sa.Select[Any]:
        """Reserved, unconfirmed records (matching `conditions`) whose lease has lapsed."""
        return (
            sa.select(self.table)
            .where(sa.not_(self.done), *conditions, *self._lapsed(lease_before))
            .order_by(self.table.c.id)
        )

    async def take(
        self,
        conn: AsyncConnection,
        key: sa.ColumnElement[bool],
        now: datetime,
        lease_before: datetime,
    ) -> bool:
        """Take over an owed record whose lease lapsed (a new lease from `now`); False when
        someone else holds a fresh one or it was confirmed meanwhile."""
        if self.lease is None:
            return True
        won = await conn.execute(
            self.table.update()
            .where(key, sa.not_(self.done), *self._lapsed(lease_before))
            .values({self.lease.name: now})
        )
        return bool(won.rowcount)

    async def confirm_many(self, conn: AsyncConnection, done: Sequence[Mapping[str, Any]]) -> None:
        """Confirm records in one statement: each mapping has `id` and the confirm values."""
        if not done:
            return
        await conn.execute(
            self.table.update()
            .where(self.table.c.id == sa.bindparam("_id"))
            .values({k: sa.bindparam(f"_{k}") for k in self.confirm}),
            [{f"_{k}": v for k, v in row.items()} for row in done],
        )
