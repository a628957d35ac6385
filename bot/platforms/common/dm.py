"""DM-only commands: wherever they are typed, their conversation goes on in the user's DM.

Why: practice and mock interviews (`bot.domain.commands.DM_COMMANDS`) are answered with plain
messages, which only a DM can take without cluttering a channel; a user's practice also belongs
to them, not to the channel (docs/design.md, "Mock interviews and practice"). A platform runs
such a command against the user's DM, delivers its replies there with `moved_to_dm`, and shows
the channel the one-line pointer it returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.domain.commands import DM_COMMANDS
from bot.domain.types import Reply

MOVED = "I sent you a DM: answer in your direct messages with a plain message."
REFUSED = (
    "I could not send you a direct message. Allow direct messages from drillbot, then run the "
    "command again."
)


class DmRefused(Exception):
    """The platform would not deliver a direct message to this user (their settings)."""


def dm_only(name: str | None) -> bool:
    """Whether command `name` runs in the user's DM wherever it is typed."""
    return name in DM_COMMANDS


async def moved_to_dm(
    replies: list[Reply],
    deliver: Callable[[list[Reply]], Awaitable[None]],
    refused: str = REFUSED,
) -> list[Reply]:
    """Deliver a DM-only command's replies by DM; what the place it was typed in is told
    instead (`refused`, the platform's advice, when the DM could not be sent)."""
    if not replies:
        return replies
    try:
        await deliver(replies)
    except DmRefused:
        return [Reply(refused)]
    return [Reply(MOVED)]
