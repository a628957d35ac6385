"""A bounded map with an optional time to live: what a platform remembers in memory.

Why: an adapter remembers recent things (delivered event ids, the interaction that carried an
answer, the band a reaction shows, who a user is) to save a call or to drop a redelivery, and
none of it may grow without end in a bot that runs for months. Entries leave in the order they
were written: past `size` the oldest goes, and with a `ttl` an entry older than that is gone.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most `size` entries, each for at most `ttl` seconds (None: until pushed out);
    `now` is a monotonic clock in seconds (injected by tests)."""

    def __init__(
        self,
        size: int,
        ttl: float | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.ttl = ttl
        self._now = now
        self._items: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value written under `key`, unless it expired or was pushed out."""
        self._expire()
        entry = self._items.get(key)
        return entry[0] if entry is not None else None

    def __contains__(self, key: object) -> bool:
        self._expire()
        return key in self._items

    def put(self, key: K, value: V) -> None:
        """Write `key` as the newest entry (an earlier value is replaced)."""
        self._items[key] = (value, self._now())
        self._items.move_to_end(key)
        self._expire()

    def pop(self, key: K) -> V | None:
        self._expire()
        entry = self._items.pop(key, None)
        return entry[0] if entry is not None else None

    def first_time(self, key: K, value: V) -> bool:
        """True, and `key` remembered, unless `key` is remembered already (a repeat)."""
        if key in self:
            return False
        self.put(key, value)
        return True

    def discard(self, where: Callable[[K], bool]) -> None:
        """Forget every entry whose key matches `where`."""
        for key in [k for k in self._items if where(k)]:
            del self._items[key]

    def __len__(self) -> int:
        self._expire()
        return len(self._items)

    def _expire(self) -> None:
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        if self.ttl is None:
            return
        oldest = self._now() - self.ttl
        while self._items and next(iter(self._items.values()))[1] <= oldest:
            self._items.popitem(last=False)
