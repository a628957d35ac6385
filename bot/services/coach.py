"""Hints and follow-up questions for mock interviews.

The offline coach needs no model: a follow-up is the question's first `follow_ups` entry (none
when the pack has none; a question gets one follow-up at most), and a hint names the words of
the most important key point the answer has not covered yet, without giving the point away.
When the LLM grader is configured it writes both instead, and the offline coach stands in
whenever that fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bot.grading.text import content_tokens
from bot.packs import KeyPoint, Question

_log = logging.getLogger(__name__)
HINT_WORDS = 4


class Coach(Protocol):
    async def follow_up(
        self, question: Question, answer: str, missed: Sequence[KeyPoint]
    ) -> str | None:
        """A deeper question on what the answer missed, or None."""
        ...

    async def hint(self, question: Question, answer: str, missed: Sequence[KeyPoint]) -> str: ...


class OfflineCoach:
    async def follow_up(
        self, question: Question, answer: str, missed: Sequence[KeyPoint]
    ) -> str | None:
        return question.follow_ups[0] if question.follow_ups else None

    async def hint(self, question: Question, answer: str, missed: Sequence[KeyPoint]) -> str:
        point = max(missed or question.key_points, key=lambda kp: kp.weight)
        asked = {t.key for t in content_tokens(question.prompt)}
        said = {t.key for t in content_tokens(answer)}
        cues: list[str] = []
        for token in content_tokens(point.text):
            if token.key not in asked | said and token.surface not in cues:
                cues.append(token.surface)
        cues = cues[:HINT_WORDS] or [t.surface for t in content_tokens(point.text)][:HINT_WORDS]
        return "Hint: a strong answer also says something about " + ", ".join(cues) + "."


@runtime_checkable
class TextCoach(Protocol):
    """What the LLM grader offers: the same two calls, over key point texts."""

    async def follow_up(
        self, question: Question, answer: str, missed_points: Sequence[str]
    ) -> str: ...

    async def hint(
        self, question: Question, answer_so_far: str, missed_points: Sequence[str]
    ) -> str: ...


class LLMCoach:
    """The LLM writes follow-ups and hints; the offline coach stands in when it fails."""

    def __init__(self, llm: TextCoach, fallback: Coach | None = None) -> None:
        self.llm = llm
        self.fallback = fallback or OfflineCoach()

    async def follow_up(
        self, question: Question, answer: str, missed: Sequence[KeyPoint]
    ) -> str | None:
        try:
            return await self.llm.follow_up(question, answer, [kp.text for kp in missed])
        except Exception as exc:
            _log.warning("LLM follow-up failed (%r); using the pack's", exc)
            return await self.fallback.follow_up(question, answer, missed)

    async def hint(self, question: Question, answer: str, missed: Sequence[KeyPoint]) -> str:
        try:
            return await self.llm.hint(question, answer, [kp.text for kp in missed])
        except Exception as exc:
            _log.warning("LLM hint failed (%r); using the offline hint", exc)
            return await self.fallback.hint(question, answer, missed)
