"""Leases of this process: its heartbeat, and chores claimed by one process at a time.

Every process sharing a database renews what it holds once per tick interval (a lease lasts
about two), from APScheduler's second interval job, which runs even when the process opts out
of time-driven work (`DRILLBOT_SCHEDULER=off`), because it still grades what it receives. Its
own name `worker:<owner>` is renewed too: the count of live workers sets each process's share
of a fan-out. A chore of the tick that is not a row of its own (closing, reveals, housekeeping)
runs in the process holding its claim; the claim stays with that process while it lives, and
moves when its lease lapses (docs/design.md "Platforms and operations").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.services.dailies import WORKER, Step
from bot.store.reserve import Claims, Holder

_log = logging.getLogger(__name__)

Renewer = Callable[[str, datetime], Awaitable[object]]
FORGET_WORKERS = timedelta(days=1)


@dataclass(frozen=True)
class Heartbeat:
    claims: Claims
    holder: Holder
    clock: Clock
    renewers: Sequence[Renewer]

    async def beat(self) -> None:
        """Say this process is alive and renew every lease it holds."""
        now = self.clock.now()
        try:
            await self.claims.claim([WORKER + self.holder.owner], self.holder, now)
            await self.claims.renew(self.holder, now)
            for renew in self.renewers:
                await renew(self.holder.owner, now)
        except Exception:
            _log.exception("renewing leases failed; they lapse unless the next beat succeeds")

    async def leave(self) -> None:
        """A clean stop: this worker no longer counts, its chores are free at once; the
        heartbeat rows of processes gone for a day are forgotten."""
        await self.claims.release_all(self.holder)
        await self.claims.prune(WORKER, self.clock.now() - FORGET_WORKERS)


@dataclass(frozen=True)
class Chore:
    """A tick step run only by the process holding the claim `chore:<name>`."""

    name: str
    step: Step
    claims: Claims
    holder: Holder
    clock: Clock

    @property
    def __name__(self) -> str:
        return self.name

    async def __call__(self) -> None:
        if await self.claims.claim([f"chore:{self.name}"], self.holder, self.clock.now()):
            await self.step()
