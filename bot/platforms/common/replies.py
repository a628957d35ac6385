"""Replies the core returns without recording them, sent once per delivery.

Why: the core records an event's key atomically with its effect, so a redelivered answer is
a no-op; but a refusal ("no question is open", "too long") records nothing, and a platform's
redelivery (Slack retries an unacknowledged event; Discord redelivers after a resume, and the
catch-up after a reconnect replays a thread) would repeat it. Every platform sends such replies
through `ReplyOnce`, which records `reply:` + the event key first (`Inbound.first_time`) and
sends only when that key is new. A crash between the record and the send loses the reply, never
doubles it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.domain.types import Reply
from bot.ports import Inbound


class ReplyOnce:
    def __init__(self, core: Inbound) -> None:
        self.core = core

    async def send(
        self,
        workspace_id: str,
        event_key: str,
        replies: list[Reply],
        deliver: Callable[[list[Reply]], Awaitable[None]],
    ) -> None:
        """`deliver(replies)` unless there are none or this event's replies went out before."""
        if replies and await self.core.first_time(workspace_id, f"reply:{event_key}"):
            await deliver(replies)
