"""Self-check: the learner flips the grader's marks on a practice or mock answer
(docs/design.md "Grades", Self-check). Pure rules: which answers may be checked, how a flip
changes a mark, and the score the learner's marks give under the one formula.

Decision: a flip turns a covered point into missed, and a partly or missed point into covered
("I covered this" / "I missed this"); flipping twice restores the grader's mark. Caps (a hint's,
a flagged answer's) and misconceptions apply to the learner's marks exactly as to the grader's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.rubric import Rubric
from bot.grading.base import Grade, Judgment, compute_score

#: How long after a final grade the learner may check it.
WINDOW = timedelta(hours=24)
#: What the marks look like in text (the same on every platform).
SYMBOLS = {1.0: "[x]", 0.5: "[~]", 0.0: "[ ]"}
HOW = "Flip any mark the grader got wrong with `/drill check N ...` (within 24 h)."


@dataclass(frozen=True)
class Mark:
    """One key point of the answer's rubric: the grader's credit and the learner's."""

    number: int
    text: str
    weight: float
    grader: float
    learner: float

    @property
    def flipped(self) -> bool:
        return self.grader != self.learner

    def as_json(self) -> dict[str, Any]:
        return {
            "key_point": self.text,
            "weight": self.weight,
            "grader": self.grader,
            "learner": self.learner,
        }


@dataclass(frozen=True)
class CheckView:
    """What a platform shows to let the learner flip marks: one control per key point
    (Slack checkboxes, a Discord select), checked when the point counts as covered now."""

    answer_id: int
    marks: tuple[Mark, ...]

    @property
    def covered(self) -> list[int]:
        return [m.number for m in self.marks if m.learner == 1.0]


def grader_marks(rubric: Rubric, grade: Mapping[str, Any]) -> tuple[Mark, ...]:
    """The grader's marks on each key point of the rubric, numbered from 1."""
    credit = {text: 1.0 for text in grade.get("covered") or []}
    credit |= {text: 0.5 for text in grade.get("partly") or []}
    marks = []
    for number, kp in enumerate(rubric.key_points, 1):
        given = credit.get(kp.text, 0.0)
        marks.append(Mark(number, kp.text, kp.weight, given, given))
    return tuple(marks)


def with_learner(marks: Sequence[Mark], stored: Sequence[Mapping[str, Any]]) -> tuple[Mark, ...]:
    """The marks with a stored self-check's learner credits applied (matched by text)."""
    learner = {m["key_point"]: float(m["learner"]) for m in stored}
    return tuple(replace(m, learner=learner.get(m.text, m.learner)) for m in marks)


def flip(marks: Sequence[Mark], numbers: Collection[int]) -> tuple[Mark, ...]:
    """Toggle the learner's mark of each numbered key point; ValueError names a number the
    answer's rubric does not have."""
    bad = sorted(n for n in numbers if not 1 <= n <= len(marks))
    if bad:
        raise ValueError(
            f"key point {', '.join(map(str, bad))} does not exist: this answer has key points "
            f"1 to {len(marks)}"
        )
    return tuple(
        replace(m, learner=0.0 if m.learner == 1.0 else 1.0) if m.number in numbers else m
        for m in marks
    )


def toggles_to(marks: Sequence[Mark], covered: Collection[int]) -> set[int]:
    """The flips that make exactly `covered` the covered points (a checkbox group or a
    select sends the whole state; a partly point left unticked stays partly)."""
    now = {m.number for m in marks if m.learner == 1.0}
    return (now ^ set(covered)) & {m.number for m in marks}


def learner_score(
    marks: Sequence[Mark], misconceptions: int, flagged: bool, cap: int | None
) -> int:
    """The one formula on the learner's marks, with the same misconceptions and caps."""
    judgments = [Judgment(key_point=m.text, credit=m.learner) for m in marks]
    weights = {m.text: m.weight for m in marks}
    score = compute_score(judgments, weights, misconceptions, flagged)
    return min(score, cap) if cap is not None else score


def refusal(
    *,
    kind: str,
    status: str,
    overridden: bool,
    floored: bool,
    mcq: bool,
    graded_at: datetime | None,
    now: datetime,
) -> str | None:
    """Why this answer cannot be self-checked, or None when it can."""
    if kind != "practice":
        return (
            "Self-checks are for practice and mock answers. A daily's grade is disputed with "
            "`/drill regrade` (or an admin's override)."
        )
    if mcq:
        return "Multiple-choice answers are exact; there are no key points to check."
    if overridden:
        return "An admin set this answer's score; it is final."
    if floored:
        return "This answer earned nothing (it was not an answer), so there is nothing to check."
    if status != "graded" or graded_at is None:
        return "This answer has no final grade yet; check it once it is graded."
    if now - graded_at > WINDOW:
        return "Self-checks are open for 24 hours after the grade; this one has closed."
    return None


def marks_text(marks: Sequence[Mark]) -> list[str]:
    """One line per key point: its number, the mark that counts now, its text."""
    lines = []
    for m in marks:
        note = f" (grader: {SYMBOLS[m.grader]})" if m.flipped else ""
        lines.append(f"  {m.number}. {SYMBOLS[m.learner]} {m.text}{note}")
    return lines


def offer(answer_id: int, kind: str, rubric: Rubric, grade: Grade) -> CheckView | None:
    """The marks to show with a grade's feedback when the learner may check them: a final,
    non-floored grade of an open practice or mock answer; None otherwise."""
    if (
        kind != "practice"
        or rubric.question.type != "open"
        or not rubric.key_points
        or grade.provisional
        or grade.floored
    ):
        return None
    return CheckView(
        answer_id, grader_marks(rubric, {"covered": grade.covered, "partly": grade.partly})
    )


@dataclass(frozen=True)
class Overrule:
    """How often learners of a workspace flipped one key point of one question."""

    workspace_id: str
    question_id: str
    key_point: str
    checks: int  # self-checked answers graded on this key point
    to_covered: int  # the grader said missed or partly, the learner covered
    to_missed: int  # the grader said covered, the learner missed

    @property
    def flipped(self) -> int:
        return self.to_covered + self.to_missed


@dataclass(frozen=True)
class Overrules:
    """Self-checked answers per workspace, and the overrules per key point."""

    answers: dict[str, int]
    points: list[Overrule]

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "key_points": [{**vars(p), "flipped": p.flipped} for p in self.points],
        }


def tally(checks: Iterable[tuple[str, str, Sequence[Mapping[str, Any]]]]) -> Overrules:
    """Count stored self-checks (workspace, question, marks) per workspace and key point."""
    answers: dict[str, int] = {}
    counts: dict[tuple[str, str, str], list[int]] = {}
    for workspace_id, question_id, marks in checks:
        answers[workspace_id] = answers.get(workspace_id, 0) + 1
        for mark in marks:
            row = counts.setdefault((workspace_id, question_id, str(mark["key_point"])), [0, 0, 0])
            grader, learner = float(mark["grader"]), float(mark["learner"])
            row[0] += 1
            row[1] += int(learner > grader)
            row[2] += int(learner < grader)
    points = [Overrule(*key, *row) for key, row in counts.items()]
    points.sort(key=lambda p: (p.workspace_id, -p.flipped / p.checks, -p.checks, p.question_id))
    return Overrules(answers, points)


def overrule_report(report: Overrules, top: int = 20) -> str:
    """The text of `drillbot eval checks`: per workspace, how often learners overruled the
    grader, and the key points they overruled most (where the grader looks weakest)."""
    if not report.answers:
        return "No self-checks yet: learners have not flipped any grader's mark."
    lines = ["Self-checks: how often learners overrule the grader, per workspace and key point."]
    for workspace_id, answered in sorted(report.answers.items()):
        mine = [p for p in report.points if p.workspace_id == workspace_id]
        marks = sum(p.checks for p in mine)
        up = sum(p.to_covered for p in mine)
        down = sum(p.to_missed for p in mine)
        share = (up + down) / marks if marks else 0.0
        lines.append(
            f"{workspace_id}: {answered} self-checked answer(s), {up + down} of {marks} key point "
            f"marks flipped ({share:.0%}): {up} to covered, {down} to missed"
        )
        flipped = [p for p in mine if p.flipped]
        for p in flipped[:top]:
            text = p.key_point if len(p.key_point) <= 70 else p.key_point[:69] + "…"
            lines.append(
                f"  {p.flipped}/{p.checks} ({p.flipped / p.checks:.0%})  {p.question_id}: {text}"
                f"  [+{p.to_covered} -{p.to_missed}]"
            )
        if len(flipped) > top:
            lines.append(f"  ... and {len(flipped) - top} more key point(s) (see --json)")
    return "\n".join(lines)
