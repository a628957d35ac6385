"""DM-only commands: replies go to the DM, the place the command was typed gets a pointer."""

from __future__ import annotations

from bot.domain.types import Reply
from bot.platforms.common.dm import MOVED, DmRefused, dm_only, moved_to_dm


def test_practice_and_mock_are_dm_only() -> None:
    assert dm_only("practice") and dm_only("mock")
    assert not dm_only("leaderboard") and not dm_only(None)


async def test_replies_are_delivered_by_dm_and_the_channel_is_pointed_there() -> None:
    delivered: list[list[Reply]] = []

    async def deliver(replies: list[Reply]) -> None:
        delivered.append(replies)

    question = [Reply("What is overfitting?")]
    assert await moved_to_dm(question, deliver) == [Reply(MOVED)]
    assert delivered == [question]
    assert await moved_to_dm([], deliver) == [] and len(delivered) == 1


async def test_a_refused_dm_gives_the_platform_advice() -> None:
    async def refuse(replies: list[Reply]) -> None:
        raise DmRefused("Cannot send messages to this user")

    assert await moved_to_dm([Reply("q")], refuse, "allow DMs") == [Reply("allow DMs")]
