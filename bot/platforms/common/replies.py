"""Replies the engine returns without recording them, sent once per delivery.

Why: the engine records an event's key atomically with its effect, so a redelivered answer is
a no-op; but a refusal ("no question is open", "too long") records nothing, and a platform's
redelivery (Slack retries an unacknowledged event; Discord redelivers after a resume, and the
catch-up after a reconnect replays a thread) would repeat it. Every platform sends such replies
through `ReplyOnce`, which records `reply:` + the event key first and sends only when that key
is new. A crash between the record and the send loses the reply, never doubles it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.clock import Clock
from bot.core.types import Reply
from bot.store.db import Database
from bot.store.tables import events


class ReplyOnce:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def send(
        self,
        workspace_id: str,
        event_key: str,
        replies: list[Reply],
        deliver: Callable[[list[Reply]], Awaitable[None]],
    ) -> None:
        """`deliver(replies)` unless there are none or this event's replies went out before."""
        if replies and await self._first(workspace_id, f"reply:{event_key}"):
            await deliver(replies)

    async def _first(self, workspace_id: str, key: str) -> bool:
        async with self.db.write() as conn:
            fresh = await conn.execute(
                self.db.insert_ignore(events).values(
                    workspace_id=workspace_id, key=key, seen_at=self.clock.now()
                )
            )
        return bool(fresh.rowcount)
