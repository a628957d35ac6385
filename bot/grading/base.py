"""The grader seam: what every grader receives and returns, and the one score formula.

docs/design.md fixes one formula for every grader so scores compare: a grader judges each key
point covered (1), partly (0.5) or missed (0); the score is
round(10 x covered weight / total weight), minus 1 per misconception, floor 0, and an answer
flagged as trying to steer the grader is capped at 5. Graders return plain text; adapters
escape it for their platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from bot.packs import KeyPoint, KnownMisconception, Question

FLAG_CAP = 5


class Judgment(BaseModel):
    """A grader's verdict on one key point."""

    key_point: str
    credit: float  # 1 covered, 0.5 partly, 0 missed
    evidence: str | None = None


class Grade(BaseModel):
    """A grader's verdict on one answer, as stored (docs/design.md "Grades")."""

    score: int
    covered: list[str] = []
    partly: list[str] = []
    missed: list[str] = []
    misconceptions: list[str] = []
    feedback: str = ""
    follow_up: str | None = None
    flagged: bool = False
    flags: list[str] = []
    #: A non-answer (a floor: empty, "idk", a copy of the question...): it earns nothing.
    floored: bool = False
    grader: str
    grader_version: str
    model: str | None = None
    prompt_version: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    provisional: bool = False
    graded_at: datetime | None = None

    @property
    def band(self) -> str:
        return band(self.score)


@dataclass(frozen=True)
class GradeRequest:
    """What a grader sees: the question, the answer text, and which key points count.

    `key_points` is the question's own list for a first answer; for a follow-up answer it is
    the key points the first answer missed (docs/design.md "Grades").
    """

    question: Question
    answer: str
    key_points: tuple[KeyPoint, ...] = field(default=())

    @property
    def rubric(self) -> tuple[KeyPoint, ...]:
        return self.key_points or tuple(self.question.key_points)

    def misconceptions(self) -> list[tuple[int, KnownMisconception]]:
        """The question's listed misconceptions whose key point this answer is graded on, each
        with that key point's index in `rubric` (a follow-up's rubric is a subset)."""
        index = {kp.text: i for i, kp in enumerate(self.rubric)}
        listed = ((index.get(self.question.contradicted(m).text), m)
                  for m in self.question.misconceptions
                  if 1 <= m.point <= len(self.question.key_points))
        return [(i, m) for i, m in listed if i is not None]


class Grader(Protocol):
    """Grades one answer or raises; the engine decides what happens on failure."""

    name: str
    version: str

    async def grade(self, request: GradeRequest) -> Grade: ...



def compute_score(
    judgments: list[Judgment], weights: dict[str, float], misconceptions: int, flagged: bool
) -> int:
    """The one score formula of docs/design.md ("Grades"), from per-key-point judgments."""
    total = sum(weights.get(j.key_point, 1.0) for j in judgments)
    if total <= 0:
        return 0
    got = sum(weights.get(j.key_point, 1.0) * j.credit for j in judgments)
    score = max(0, round(10 * got / total) - misconceptions)
    return min(score, FLAG_CAP) if flagged else min(score, 10)


def rubric_weights(rubric: Sequence[KeyPoint]) -> dict[str, float]:
    return {kp.text: kp.weight for kp in rubric}


def graded(
    judgments: Sequence[Judgment],
    rubric: Sequence[KeyPoint],
    *,
    misconceptions: Sequence[str] = (),
    flags: Sequence[str] = (),
    **fields: Any,
) -> Grade:
    """The Grade of per-key-point judgments under the one formula, for every grader: the
    score is computed here from the judgments, never taken from a grader's own total."""
    score = compute_score(
        list(judgments), rubric_weights(rubric), len(misconceptions), bool(flags)
    )
    by_credit = {c: [j.key_point for j in judgments if j.credit == c] for c in (1.0, 0.5, 0.0)}
    return Grade(
        score=score,
        covered=by_credit[1.0],
        partly=by_credit[0.5],
        missed=by_credit[0.0],
        misconceptions=list(misconceptions),
        flagged=bool(flags),
        flags=list(flags),
        graded_at=datetime.now(UTC),
        **fields,
    )


BANDS: tuple[tuple[int, str], ...] = (
    (9, "excellent"),
    (7, "good"),
    (4, "partial"),
    (0, "needs work"),
)


def band(score: int) -> str:
    """The band name of a 0-10 score: 0-3 needs work, 4-6 partial, 7-8 good, 9-10 excellent."""
    return next(name for low, name in BANDS if score >= low)
