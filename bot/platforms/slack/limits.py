"""The one rate limiter every Slack call goes through (Web API and response URLs).

Slack limits calls "per method per workspace per app" in tiers (1+, 20+, 50+, 100+ a minute)
and `chat.postMessage` specially: about one message a second per channel plus an unpublished
workspace-wide budget (we assume 10 a second, the fake server's setting). A 429 carries a
Retry-After in seconds. Waiting in a queue is cheap; a 429 costs a whole second or more, so
the limiter paces calls to stay under the limits instead of discovering them.

Each limit is a `Window`: at most `capacity` calls in flight or finished less than `period`
ago. A call holds its slot from when it is sent until `period` after its response arrives; the
server sees each request somewhere between those two instants, so no window of `period` at
the server can hold more than `capacity` of our requests, however the network jitters.

A message to a channel first takes the channel's slot (kept across 429 retries, so messages
in one channel stay in order), then the workspace budget for each attempt. A 429 is waited
out (its Retry-After) and the call is sent again: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.errors import RateLimited

_log = logging.getLogger(__name__)
T = TypeVar("T")

#: Calls per minute per workspace, by method (the tiers of Slack's method pages: 2 = 20+,
#: 3 = 50+, 4 = 100+; "+" means Slack tolerates bursts above them, so these are floors).
TIER_PER_MINUTE: Mapping[str, int] = {
    "auth.test": 100,
    "apps.connections.open": 1,
    "chat.postEphemeral": 100,
    "chat.update": 50,
    "conversations.history": 50,
    "conversations.open": 50,
    "oauth.v2.access": 100,
    "reactions.add": 50,
    "reactions.remove": 50,
    "response_url": 100,
    "users.info": 100,
    "users.list": 20,
    "views.open": 100,
    "views.publish": 100,
}
#: Methods paced per channel and against the workspace message budget.
MESSAGE_METHODS = frozenset({"chat.postMessage"})



@dataclass(frozen=True)
class Limits:
    """The numbers the limiter paces to; tests and benchmarks shrink or widen them."""

    channel_interval: float = 1.0
    workspace_messages_per_second: int = 10
    per_minute: Mapping[str, int] = field(default_factory=lambda: dict(TIER_PER_MINUTE))
    #: Tier 2 for a method missing from the table: the cautious choice.
    default_per_minute: int = 20
    #: A minute-based budget is enforced over this many seconds (60 in production).
    minute: float = 60.0
    #: Seconds one HTTP attempt may take before it is abandoned (a hung connection must not
    #: hold a channel, or the tick, forever). Retry-After waits are outside any attempt.
    attempt_timeout: float = 10.0


class Window:
    """At most `capacity` holders whose [acquire, release + period] spans overlap; FIFO."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.period = period
        self._free = capacity
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def idle(self) -> bool:
        return self._free == self.capacity and not self._waiters

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            asyncio.get_running_loop().call_later(self.period, self._release)

    async def _acquire(self) -> None:
        if self._free and not self._waiters:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as we gave up: pass it on
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


@dataclass
class LimiterStats:
    calls: int = 0
    rate_limited: int = 0


class RateLimiter:
    """Paces calls per (workspace, method) and messages per channel; retries 429s."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.stats = LimiterStats()
        self._windows: dict[tuple[str, ...], Window] = {}

    async def run(
        self, team: str, method: str, channel: str | None, send: Callable[[], Awaitable[T]]
    ) -> T:
        """Send once the limits allow; on `RateLimited` wait and send again until it passes."""
        outer, inner = self._windows_for(team, method, channel)
        async with outer.slot() if outer else contextlib.nullcontext():
            while True:
                async with inner.slot():
                    self.stats.calls += 1
                    try:
                        return await send()
                    except RateLimited as exc:
                        delay = exc.retry_after
                self.stats.rate_limited += 1
                _log.info(
                    "%s for %s/%s rate limited; retrying in %.1f s",
                    method,
                    team,
                    channel or "-",
                    delay,
                )
                await asyncio.sleep(delay)

    def _windows_for(
        self, team: str, method: str, channel: str | None
    ) -> tuple[Window | None, Window]:
        limits = self.limits
        if method in MESSAGE_METHODS and channel:
            outer = self._window(("channel", team, channel), 1, limits.channel_interval)
            inner = self._window(("messages", team), limits.workspace_messages_per_second, 1.0)
            return outer, inner
        per_minute = limits.per_minute.get(method, limits.default_per_minute)
        return None, self._window(("method", team, method), per_minute, limits.minute)

    def _window(self, key: tuple[str, ...], capacity: int, period: float) -> Window:
        window = self._windows.get(key)
        if window is None:
            self._prune()
            window = self._windows[key] = Window(capacity, period)
        return window

    def _prune(self) -> None:
        """Forget idle windows now and then, so a thousand channels cost no memory for long."""
        if len(self._windows) >= 4096:
            for key in [k for k, w in self._windows.items() if w.idle]:
                del self._windows[key]
