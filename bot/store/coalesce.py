"""Single flight: concurrent reads of the same key share one query.

When 64 users answer the same daily at once, each answer looks the daily up by its thread; the
lookups that overlap in time wait for the one query already in flight instead of queueing 64
connections for the same row. Nothing is cached: a lookup that starts after a query finished
runs its own, so a caller sees the row as of a query that was running when it asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self, load: Callable[[K], Awaitable[V]]) -> None:
        self.load = load
        self._flying: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K) -> V:
        flying = self._flying.get(key)
        if flying is not None:
            return await asyncio.shield(flying)
        future: asyncio.Future[V] = asyncio.ensure_future(self.load(key))
        self._flying[key] = future
        future.add_done_callback(lambda _f: self._flying.pop(key, None))
        return await asyncio.shield(future)
