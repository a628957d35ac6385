"""The rubric an answer is graded against, kept with the answer (docs/design.md "Question packs").

A question's key points may be split, reworded, reweighted or the question retired after an
answer was given; the answer must still grade, re-grade and self-check the same way. So intake
captures a `Rubric`: a copy of the question as it was (prompt, reference answer, type, MCQ
letter) and the key points, with weights, that this answer counts against (all of them, or the
ones a first answer missed, for a follow-up). Grading reads only this copy, never today's bank.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.packs import KeyPoint, KnownMisconception, Question

#: The stored shape's version: a later change of shape reads older rows by it.
VERSION = 1


#: Fields of a question a stored rubric leaves out: nothing grades or shows them again.
_UNUSED = frozenset({"tags", "source", "family"})
#: The stored form of each question object and of its whole rubric, made once: most answers
#: are graded on their question's whole rubric, and dumping and hashing it again per answer
#: would be most of intake's cost. (Keyed by object id, checked by identity.)
_DUMPED: dict[int, tuple[Question, dict[str, Any]]] = {}
_WHOLE: dict[int, tuple[Question, tuple[str, dict[str, Any]]]] = {}
_PARSED: dict[int, tuple[Mapping[str, Any], Rubric]] = {}


def _question_json(question: Question) -> dict[str, Any]:
    known = _DUMPED.get(id(question))
    if known is None or known[0] is not question:  # ids are reused once an object is gone
        known = (question, question.model_dump(mode="json", exclude=set(_UNUSED)))
        _DUMPED[id(question)] = known
    return known[1]


@dataclass(frozen=True)
class Rubric:
    """`question`: the question as it was asked; `key_points`: what this answer is graded on."""

    question: Question
    key_points: tuple[KeyPoint, ...]

    @classmethod
    def of(cls, question: Question, key_points: Sequence[KeyPoint] | None = None) -> Rubric:
        return cls(question, tuple(question.key_points if key_points is None else key_points))

    def narrowed(self, texts: Collection[str]) -> Rubric:
        """Only the key points named (a follow-up is graded on what the first answer missed);
        the whole rubric when none of them is named, so a follow-up never grades on nothing."""
        kept = tuple(kp for kp in self.key_points if kp.text in texts)
        return Rubric(self.question, kept or self.key_points)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "question": _question_json(self.question),
            "key_points": [kp.model_dump(mode="json") for kp in self.key_points],
        }

    def stored(self) -> tuple[str, dict[str, Any]]:
        """The stored form and its content key (the SHA-256 of its canonical JSON): equal
        rubrics share one stored copy."""
        whole = self.key_points == tuple(self.question.key_points)
        known = _WHOLE.get(id(self.question)) if whole else None
        if known is not None and known[0] is self.question:
            return known[1]
        body = self.to_json()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        result = hashlib.sha256(canonical.encode()).hexdigest(), body
        if whole:
            _WHOLE[id(self.question)] = (self.question, result)
            _PARSED[id(body)] = (body, self)
        return result

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rubric:
        """The stored copy as it was written: not validated again, since a pack rule added
        later must not make a stored answer unreadable."""

        def points(items: Sequence[Mapping[str, Any]]) -> list[KeyPoint]:
            return [
                KeyPoint.model_construct(text=str(p["text"]), weight=float(p.get("weight", 1.0)))
                for p in items
            ]

        known = _PARSED.get(id(data))
        if known is not None and known[0] is data:  # the form intake just stored
            return known[1]
        fields = dict(data["question"])
        fields["key_points"] = points(fields.get("key_points") or [])
        fields["misconceptions"] = [
            KnownMisconception.model_construct(text=str(m["text"]), point=int(m["point"]))
            for m in fields.get("misconceptions") or []
        ]
        return cls(Question.model_construct(**fields), tuple(points(data["key_points"])))


def stored_rubric(stored: Any, current: Question | None) -> Rubric | None:
    """The rubric an answer keeps; for a row written before rubrics were kept (and missed by
    the migration's backfill), the question's current one, narrowed to the key point texts it
    named. None when neither is known: the answer cannot be graded (its question is gone)."""
    if isinstance(stored, Mapping) and "question" in stored:
        return Rubric.from_json(stored)
    if current is None:
        return None
    whole = Rubric.of(current)
    return whole.narrowed(stored) if isinstance(stored, list) else whole
