"""Acknowledge a platform's delivery only once the answer it carries is committed.

Why: Slack does not redeliver an event it saw acknowledged, and a Discord interaction that was
deferred is never sent again; if the process dies between the acknowledgement and the
commit, the answer is gone (docs/design.md, lifecycle step 4: the answer is committed before
the delivery is acknowledged). So an adapter runs the core's call in a task of its own, waits
until the core says the answer is committed (`on_stored`) or the call ends without storing
anything (a refusal, a command, a duplicate), then acknowledges; grading and the replies go
on in that task after the acknowledgement.

Platforms give about 3 seconds for the acknowledgement. When the commit has not happened by
`ACK_DEADLINE` (a database held by another writer), the caller must not acknowledge: Slack
then redelivers (the core dedupes the redelivery by its key, whichever arrives first), and
the user of a form sees Slack's error and still has their text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.types import Reply, Stored

_log = logging.getLogger(__name__)

#: What the acknowledgement may wait for the commit (platforms allow 3 s in all).
ACK_DEADLINE = 2.5

Call = Callable[[Stored], Awaitable[list[Reply]]]
Then = Callable[[list[Reply]], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """The task carrying a delivery through the core, and whether it may be acknowledged:
    `safe` once its answer is committed or the call ended storing nothing; `error` when the
    call failed before that (nothing was committed: acknowledging would lose it)."""

    task: asyncio.Task[None]
    safe: bool
    error: BaseException | None = None


async def store_first(call: Call, then: Then, deadline: float = ACK_DEADLINE) -> Delivery:
    """Run `call(on_stored)` and then `then(replies)` in a new task; return once the answer
    is committed, the call ended, or `deadline` seconds passed, whichever is first."""
    loop = asyncio.get_running_loop()
    settled: asyncio.Future[BaseException | None] = loop.create_future()

    def stored() -> None:
        if not settled.done():
            settled.set_result(None)

    async def run() -> None:
        try:
            replies = await call(stored)
        except Exception as exc:
            if not settled.done():
                settled.set_result(exc)
            raise
        stored()
        await then(replies)

    task = asyncio.ensure_future(run())
    task.add_done_callback(log_failure)
    try:
        error = await asyncio.wait_for(asyncio.shield(settled), deadline)
    except TimeoutError:
        return Delivery(task, safe=False)
    return Delivery(task, safe=error is None, error=error)


def log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("a delivery failed", exc_info=task.exception())
