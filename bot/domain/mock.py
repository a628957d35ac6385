"""The rules and words of a mock interview that need no storage: the partial-score band that
earns a follow-up, the hint's cap, how a question is asked and the scorecard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain import render
from bot.grading.base import band
from bot.packs import Bank, Question

HINT_CAP = 7
PARTIAL = range(4, 7)


class Item(Protocol):
    """One answered or skipped question of a session, as the scorecard reads it."""

    @property
    def question_id(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def score(self) -> int | None: ...
    @property
    def follow_up_score(self) -> int | None: ...
    @property
    def hinted(self) -> bool: ...
    @property
    def missed(self) -> list[str]: ...


def scorecard(bank: Bank, items: Sequence[Item], planned: int) -> str:
    """Score per question, strengths, weak topics, what to study next, how to go again."""
    if not items:
        return "Mock interview stopped before any answer. `/drill mock` starts a new one."
    lines = [f"Mock interview scorecard ({len(items)} of {planned} question(s)):"]
    by_topic: dict[str, list[int]] = {}
    study: list[str] = []
    for number, item in enumerate(items, 1):
        question = bank.get(item.question_id)
        topic = question.topic if question else "?"
        if item.outcome == "skipped":
            lines.append(f"  {number}. [{topic}] {item.question_id}: skipped")
            by_topic.setdefault(topic, []).append(0)
        else:
            score = item.score if item.score is not None else "not graded yet"
            extra = (
                f", follow-up {item.follow_up_score}/10" if item.follow_up_score is not None else ""
            )
            hint = " (hint)" if item.hinted else ""
            lines.append(f"  {number}. [{topic}] {item.question_id}: {score}/10{extra}{hint}")
            if item.score is not None:
                by_topic.setdefault(topic, []).append(item.score)
        study += [m for m in item.missed if m not in study]
    means = {t: sum(s) / len(s) for t, s in by_topic.items()}
    if scored := [s for ss in by_topic.values() for s in ss]:
        average = sum(scored) / len(scored)
        lines.append(f"Average {average:.1f}/10 ({band(round(average))}).")
    strong = sorted(t for t, m in means.items() if m >= 7)
    weak = sorted(t for t, m in means.items() if m < 7)
    lines.append("Strengths: " + (", ".join(strong) or "none yet"))
    lines.append("Weak topics: " + (", ".join(weak) or "none"))
    if study:
        lines.append("Study next:")
        lines += [f"  - {point}" for point in study[:5]]
    lines.append(
        "The questions you found hard come back in `/drill practice` and later mocks; "
        "`/drill mock again` repeats this set now."
    )
    return "\n".join(lines)


def ask_text(question: Question, number: int, total: int) -> str:
    return (
        f"Question {number}/{total} [{question.topic} · {question.difficulty}]\n"
        f"{render.question_text(question)}"
    )
