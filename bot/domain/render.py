"""Plain-text renderings of what users see; adapters escape them and may add platform
structure (Block Kit, embeds) around the same facts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain import selfcheck
from bot.domain.selfcheck import CheckView
from bot.domain.streaks import Points, Streak
from bot.domain.types import Reveal
from bot.grading.base import Grade
from bot.packs import Question

ANONYMOUS = "anonymous"


def display_name(name: str | None, privacy: str | None, user_id: str) -> str:
    if privacy == "anonymous":
        return ANONYMOUS
    return name or user_id


def question_text(question: Question) -> str:
    """The question with its choices, as asked."""
    lines = [question.prompt]
    lines += [
        f"  {letter}) {choice}"
        for letter, choice in zip(question.letters, question.choices, strict=True)
    ]
    return "\n".join(lines)


def how_to_answer(question: Question, console: bool = False) -> str:
    if question.type == "mcq":
        letters = ", ".join(question.letters)
        return f"Answer with one letter ({letters}); the first answer counts."
    if console:
        return "Type your answer as a plain line; your first answer counts."
    return (
        "Reply in the thread or use Answer privately; your first answer counts, "
        "and editing it before close regrades it."
    )


def feedback_text(
    question: Question,
    grade: Grade,
    points: Points | None,
    streak: Streak | None,
    late: bool,
    check: CheckView | None = None,
) -> str:
    """The feedback on one grade. With `check` (a practice or mock grade the learner may
    self-check) the key points are listed numbered with the grader's marks."""
    lines = [
        f"Your answer to `{question.id}`: {grade.score}/10 ({grade.band})"
        + (" [provisional]" if grade.provisional else "")
    ]
    if question.type == "mcq":
        lines.append(f"Correct answer: {question.answer}. {question.explanation}")
    elif check is not None:
        lines += ["The grader's marks:", *selfcheck.marks_text(check.marks)]
        if grade.feedback:
            lines.append(grade.feedback)
        lines.append(selfcheck.HOW)
    else:
        if grade.covered:
            lines.append("Covered: " + "; ".join(grade.covered))
        if grade.partly:
            lines.append("Partly: " + "; ".join(grade.partly))
        if grade.missed:
            lines.append("Missed: " + "; ".join(grade.missed))
        if grade.feedback:
            lines.append(grade.feedback)
    if grade.flagged:
        lines.append(
            "Note: parts of this answer read as instructions to the grader; they were "
            "ignored and the score is capped at 5."
        )
    if late:
        lines.append("This daily had closed, so it was graded as practice and counts for nothing.")
    if points is not None:
        lines.append(points.breakdown())
    if streak is not None and not late:
        lines.append(f"Streak: {streak.current} (best {streak.best}, freezes {streak.freezes})")
    return "\n".join(lines)


def reveal_text(reveal: Reveal) -> str:
    q = reveal.question
    lines = [f"Answers are closed for `{q.id}`. {reveal.answered} answered."]
    if q.type == "mcq":
        lines.append(f"Correct answer: {q.answer}) {q.choices[q.letters.index(q.answer or 'A')]}")
        lines.append(q.explanation or "")
    if q.reference_answer:
        lines.append("Model answer: " + q.reference_answer.strip())
    if q.key_points:
        lines.append("Key points:")
        lines += [f"  - {kp.text}" for kp in q.key_points]
    if not reveal.top and reveal.answered:
        lines.append("No answer reached 7/10 this time; the model answer above shows the way.")
    if reveal.top:
        lines.append("Top answers:")
        for i, top in enumerate(reveal.top, 1):
            lines.append(f"  {i}. {top.name} ({top.score}/10): {_clip(top.text, 280)}")
    if reveal.pending:
        lines.append(f"{reveal.pending} answer(s) still being graded; they count once graded.")
    return "\n".join(lines)


def streak_text(channel_name: str, streak: Streak) -> str:
    return (
        f"Your streak in {channel_name}: {streak.current} scheduled day(s) "
        f"(best {streak.best}). Freezes held: {streak.freezes} of 2 "
        f"(one earned per 7 answered days in a row; a missed day spends one)."
    )


def board_text(
    title: str,
    rows: Sequence[Any],
    caller: str,
    top: int = 10,
    empty: str = "No graded answers yet.",
) -> str:
    """Top `top` lines of a board (rows with `user_id`, `name`, `privacy` and `shown`) and
    the caller's own rank and value."""
    if not rows:
        return f"{title}\n{empty}"
    lines = [title]
    for rank, row in enumerate(rows[:top], 1):
        name = display_name(row.name, row.privacy, row.user_id)
        lines.append(f"{rank:>2}. {name}: {row.shown}")
    mine = next((i for i, r in enumerate(rows, 1) if r.user_id == caller), None)
    if mine is None:
        lines.append("You are not on this board yet.")
    else:
        lines.append(f"You: #{mine} with {rows[mine - 1].shown}")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
