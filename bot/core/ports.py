"""What the core asks of an adapter (DESIGN.md "What the core asks of an adapter").

An adapter translates: platform events into engine calls, and these calls into platform
calls. It owns platform deadlines (Slack's 3 s ack, Discord's defer), its rate limiter and
escaping, and holds no product rules.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.types import ChannelRef, DailyPost, Reveal


class ChannelUnavailable(Exception):
    """The platform refuses posts to this channel (not in channel, deleted, forbidden).

    The engine reacts by marking the channel inactive and telling an admin once."""

    def __init__(self, channel: ChannelRef, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel.channel_id}: {reason}")


class Adapter(Protocol):
    platform: str

    async def post_daily(self, post: DailyPost) -> str:
        """Post the daily; return its message id (the thread's parent)."""
        ...

    async def find_daily(self, post: DailyPost) -> str | None:
        """Look for a post of this daily sent before a crash; its message id or None."""
        ...

    async def post_reveal(self, reveal: Reveal) -> None: ...

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None: ...

    async def send_private(
        self, channel: ChannelRef, user_id: str, text: str, thread_id: str | None = None
    ) -> None:
        """Show `text` to one user only: ephemeral where possible, else a DM."""
        ...

    async def add_reaction(
        self, channel: ChannelRef, message_id: str, band: str, thread_id: str | None = None
    ) -> None:
        """The band on the answer message; `thread_id` is the daily's message (Discord's
        thread), where the answer lives."""
        ...

    async def notify_admins(self, channel: ChannelRef, text: str) -> None: ...

    async def upload_file(
        self, channel: ChannelRef, user_id: str, filename: str, data: bytes, title: str
    ) -> None:
        """Give one user a file (Slack files_upload_v2 in DM, Discord attachment, a path on
        the console)."""
        ...


class Service(Protocol):
    """A running platform connection: the adapter the engine calls, plus its life cycle."""

    adapter: Adapter
    #: False for a console script, which must post nothing it did not ask for.
    wants_scheduler: bool

    async def start(self) -> None:
        """Connect and begin delivering events to the engine; return once running."""
        ...

    async def wait(self) -> None:
        """Return when the service has finished on its own (the console at end of input)."""
        ...

    async def stop(self) -> None:
        """Stop taking events; called once, also after a failed start."""
        ...
