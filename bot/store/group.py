"""Group commit: small writes that arrive together share one transaction.

A fan-out confirms hundreds of posts within a second; one transaction each would queue them
all behind SQLite's single writer. `GroupWriter.submit` returns once the item is committed,
so callers keep "confirmed means stored"; while one batch commits, the next accumulates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database

T = TypeVar("T")


class GroupWriter(Generic[T]):
    def __init__(
        self, db: Database, apply: Callable[[AsyncConnection, list[T]], Awaitable[None]]
    ) -> None:
        self.db = db
        self.apply = apply
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Write `item` with whatever else is waiting; return when it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.db.write() as conn:
                    await self.apply(conn, [item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)
