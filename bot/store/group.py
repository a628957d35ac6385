"""Group commit: small writes that arrive together share one transaction.

A fan-out confirms hundreds of posts within a second, and 64 users answering at once each
store an answer and a grade; one transaction each would queue them all behind SQLite's single
writer (and pay one commit each). `GroupCommit.submit` returns once the item is committed, with
the item's own result, so callers keep "confirmed means stored"; while one batch commits, the
next accumulates. When a batch fails, its items are tried again one by one, so one bad item
never takes its neighbours' writes down with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Items in, one result per item out; `apply` writes a batch inside one transaction and
    returns the results in the items' order."""

    def __init__(
        self, db: Database, apply: Callable[[AsyncConnection, list[T]], Awaitable[Sequence[R]]]
    ) -> None:
        self.db = db
        self.apply = apply
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write `item` with whatever else is waiting; return its result once committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush())
        return await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write(batch)
            except Exception:
                if len(batch) == 1:
                    continue
                for one in batch:  # find the item that failed; the others still commit
                    try:
                        await self._write([one])
                    except Exception:
                        continue

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            async with self.db.write() as conn:
                results = await self.apply(conn, [item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(exc)
            raise
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():  # a caller that gave up (cancelled) needs no answer
                done.set_result(result)


class GroupWriter(GroupCommit[T, None]):
    """Group commit for writes with no result of their own (confirmations, records)."""

    def __init__(
        self, db: Database, apply: Callable[[AsyncConnection, list[T]], Awaitable[None]]
    ) -> None:
        async def apply_all(conn: AsyncConnection, items: list[T]) -> list[None]:
            await apply(conn, items)
            return [None] * len(items)

        super().__init__(db, apply_all)
