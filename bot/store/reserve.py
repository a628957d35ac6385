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
taken only once its lease has lapsed, so two workers never do the same piece at once.

Scale-out (several processes on one PostgreSQL database, docs/design.md "Platforms and
operations"): a record's `owner` column names the process holding its lease; the holder renews
its leases while it works (`renew`), so a lease lapses only when its process died or stalled,
and then any other process takes the work over. Claims of many records at once (`claim`) lock
the candidate rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers split the rows instead
of queueing behind each other; SQLite (one process) compiles the same statement without the
lock clause. `Claims` holds named leases for chores that are not rows of their own (a
workspace's fan-out, a tick's closing pass).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database
from bot.store.tables import claims


@dataclass(frozen=True)
class Holder:
    """Who holds leases in this process and for how long one lasts without renewal (about two
    tick intervals: a live holder renews every tick)."""

    owner: str
    lease: timedelta

    def lapsed_before(self, now: datetime) -> datetime:
        """A lease renewed before this instant has lapsed."""
        return now - self.lease


@dataclass(frozen=True)
class Work:
    """One kind of time-driven work and the columns of its record.

    `done`: the condition of a confirmed row; `lease`: the column holding when the current
    holder started or last renewed (None when the work has no lease: any later try may take
    it); `owner`: the column naming the holder's process; `confirm`: the columns a
    confirmation writes (their values come per record)."""

    name: str
    table: sa.Table
    done: sa.ColumnElement[bool]
    lease: sa.Column[Any] | None
    confirm: tuple[str, ...]
    owner: sa.Column[Any] | None = None

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

    def _lapsed(
        self, lease_before: datetime | None, owner: str | None = None
    ) -> list[sa.ColumnElement[bool]]:
        """Free to take: no lease, a lapsed one, or (with `owner`) one the taker holds."""
        if self.lease is None or lease_before is None:
            return []
        free = [self.lease.is_(None), self.lease < lease_before]
        if owner is not None and self.owner is not None:
            free.append(self.owner == owner)
        return [sa.or_(*free)]

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
        owner: str | None = None,
    ) -> bool:
        """Take over an owed record whose lease lapsed (a new lease from `now`); False when
        someone else holds a fresh one or it was confirmed meanwhile."""
        if self.lease is None:
            return True
        won = await conn.execute(
            self.table.update()
            .where(key, sa.not_(self.done), *self._lapsed(lease_before, owner))
            .values(self._held(now, owner))
        )
        return bool(won.rowcount)

    def _held(self, now: datetime, owner: str | None) -> dict[str, Any]:
        assert self.lease is not None
        values: dict[str, Any] = {self.lease.name: now}
        if self.owner is not None and owner is not None:
            values[self.owner.name] = owner
        return values

    async def claim(
        self,
        conn: AsyncConnection,
        candidates: sa.Select[Any],
        now: datetime,
        owner: str,
        limit: int,
    ) -> list[sa.Row[Any]]:
        """Claim up to `limit` records among `candidates` (a select of this table's ids, which
        must already exclude fresh leases): the rows are locked with SKIP LOCKED, so two
        processes claiming at once get different rows; returns the claimed rows."""
        ids = candidates.limit(limit).with_for_update(skip_locked=True)
        won = await conn.execute(
            self.table.update()
            .where(self.table.c.id.in_(ids.scalar_subquery()))
            .values(self._held(now, owner))
            .returning(*self.table.c)
        )
        return list(won.all())

    async def renew(self, conn: AsyncConnection, owner: str, now: datetime) -> int:
        """Renew every unconfirmed lease `owner` holds (its process is alive and working)."""
        if self.lease is None or self.owner is None:
            return 0
        renewed = await conn.execute(
            self.table.update()
            .where(self.owner == owner, self.lease.is_not(None), sa.not_(self.done))
            .values({self.lease.name: now})
        )
        return int(renewed.rowcount)

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


class Claims:
    """Named leases: a chore that is not a row of its own (a workspace's fan-out, a tick's
    closing pass) is claimed under its name, held while its process renews it, and taken over
    once the lease lapsed. A holder may claim its own name again (it keeps its chores while it
    lives)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self, names: Sequence[str], holder: Holder, now: datetime, limit: int | None = None
    ) -> list[str]:
        """The names (at most `limit`, in the given order) this holder now holds."""
        if not names:
            return []
        wanted = list(dict.fromkeys(names))
        async with self.db.write() as conn:
            await conn.execute(self.db.insert_ignore(claims), [{"name": n} for n in wanted])
            free = (
                sa.select(claims.c.name)
                .where(
                    claims.c.name.in_(wanted),
                    sa.or_(
                        claims.c.owner == holder.owner,
                        claims.c.lease_at.is_(None),
                        claims.c.lease_at < holder.lapsed_before(now),
                    ),
                )
                .with_for_update(skip_locked=True)
            )
            open_names = set((await conn.execute(free)).scalars())
            won = [n for n in wanted if n in open_names][:limit]
            if won:
                await conn.execute(
                    claims.update()
                    .where(claims.c.name.in_(won))
                    .values(owner=holder.owner, lease_at=now)
                )
        return won

    async def release(self, names: Sequence[str], holder: Holder) -> None:
        """Give up names this holder holds (its chore is done), so others need not wait."""
        if not names:
            return
        async with self.db.write() as conn:
            await conn.execute(
                claims.update()
                .where(claims.c.name.in_(list(names)), claims.c.owner == holder.owner)
                .values(owner=None, lease_at=None)
            )

    async def release_all(self, holder: Holder) -> None:
        """Give up every name this holder holds (a clean stop)."""
        async with self.db.write() as conn:
            await conn.execute(
                claims.update()
                .where(claims.c.owner == holder.owner)
                .values(owner=None, lease_at=None)
            )

    async def prune(self, prefix: str, before: datetime) -> None:
        """Forget names starting with `prefix` nobody renewed since `before` (the heartbeat
        rows of processes long gone)."""
        async with self.db.write() as conn:
            await conn.execute(
                claims.delete().where(
                    claims.c.name.like(f"{prefix}%"),
                    sa.or_(claims.c.lease_at.is_(None), claims.c.lease_at < before),
                )
            )

    async def renew(self, holder: Holder, now: datetime) -> None:
        """Renew every name this holder holds."""
        async with self.db.write() as conn:
            await conn.execute(
                claims.update()
                .where(claims.c.owner == holder.owner, claims.c.lease_at.is_not(None))
                .values(lease_at=now)
            )

    async def live(self, prefix: str, holder: Holder, now: datetime) -> int:
        """How many holders renewed a name starting with `prefix` within a lease (the live
        processes, when each renews `worker:<owner>`)."""
        async with self.db.read() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count(sa.distinct(claims.c.owner))).where(
                    claims.c.name.like(f"{prefix}%"),
                    claims.c.lease_at >= holder.lapsed_before(now),
                )
            )
        return int(count or 0)
