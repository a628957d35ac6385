"""A small circuit breaker for the LLM endpoint.

Why: when the endpoint is down every grading call would wait for its timeout and retries
(tens of seconds) before the engine falls back to a provisional grade, and would keep hammering a
provider that is already failing. The breaker opens after `failures` failures within `window`
seconds; while open, calls fail at once with `CircuitOpen` (a `GraderUnavailable`, so the engine
gives the provisional offline grade straight away). After `cooldown` seconds it lets exactly one
probe call through (half-open): success closes it, failure opens it for another cool-down.

Only failures of the endpoint count (the caller says which exceptions those are); an answer the
model could not grade proves the endpoint is up. Everything here runs on one event loop, so the
state changes need no lock: no method awaits between reading and writing the state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from bot.errors import GraderUnavailable

State = Literal["closed", "open", "half_open"]


class CircuitOpen(GraderUnavailable):
    """The breaker is open: the endpoint failed recently, so no call is made."""


class CircuitBreaker:
    """Closed -> open after N failures in a window -> half-open after a cool-down -> closed."""

    def __init__(
        self,
        *,
        failures: int = 5,
        window: float = 60.0,
        cooldown: float = 60.0,
        is_failure: Callable[[BaseException], bool] = lambda _exc: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or window <= 0 or cooldown <= 0:
            raise ValueError("failures >= 1, window > 0 and cooldown > 0 are required")
        self.failures = failures
        self.window = window
        self.cooldown = cooldown
        self.is_failure = is_failure
        self.clock = clock
        self._recent: deque[float] = deque()
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def _admit(self) -> bool:
        """Let a call through or raise `CircuitOpen`; True when the call is the probe."""
        state = self.state
        if state == "closed":
            return False
        if state == "open" or self._probing:
            raise CircuitOpen("the LLM endpoint failed recently; not calling it now")
        self._probing = True
        return True

    def _record_failure(self, probe: bool) -> None:
        now = self.clock()
        if probe:  # the endpoint is still down: another full cool-down
            self._opened_at = now
            return
        if self._opened_at is not None:  # a call from before the opening: already counted
            return
        self._recent.append(now)
        while self._recent and now - self._recent[0] > self.window:
            self._recent.popleft()
        if len(self._recent) >= self.failures:
            self._opened_at = now
            self._recent.clear()

    def _record_success(self) -> None:
        if self._opened_at is not None:
            self._opened_at = None
            self._recent.clear()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Wrap one call to the endpoint: raises `CircuitOpen` instead of calling when open."""
        probe = self._admit()
        try:
            yield
        except Exception as exc:
            if self.is_failure(exc):
                self._record_failure(probe)
            else:
                self._record_success()
            raise
        except BaseException:  # cancelled: the call proved nothing either way
            raise
        else:
            self._record_success()
        finally:
            if probe:
                self._probing = False
