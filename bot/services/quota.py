"""The cost guard: how many graded answers of the counted kinds a user has left today.

Which kinds count is policy data (`bot.domain.answers.POLICIES`): today practice and mock
answers. The rolling window is 24 hours.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.domain.answers import QUOTA_SOURCES, limit_text
from bot.domain.types import Actor, Reply
from bot.store.answers import Answers

WINDOW = timedelta(days=1)


class Quota:
    def __init__(self, answers: Answers, clock: Clock, limit: int) -> None:
        self.answers = answers
        self.clock = clock
        self.limit = limit

    async def left(self, actor: Actor) -> int:
        """Counted answers the user may still give in the rolling window."""
        used = await self.answers.count_since(
            actor.workspace_id, actor.user_id, QUOTA_SOURCES, self.clock.now() - WINDOW
        )
        return max(0, self.limit - used)

    def refusal(self, question_kept: bool = False) -> list[Reply]:
        return [Reply(limit_text(self.limit, question_kept))]
