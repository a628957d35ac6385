"""Which questions a user practises next: due reviews first, then their weakest topics.

Shared by `/drill practice` (one question) and mock interviews (several); pure: the services
read the user's record and hand it in. Weakness is the mean of the user's latest score per
question in a topic; a topic they never touched sits in the middle (5.5), so a user who is
weak somewhere meets that first and otherwise explores.
Mock interviews use open questions only (an interview is spoken, not multiple choice);
practice takes MCQs too.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.packs import Bank, Question

UNTOUCHED_TOPIC = 5.5
FRESH_FOR = timedelta(days=30)


def topic_mastery(bank: Bank, scores: Sequence[tuple[str, int]]) -> dict[str, tuple[float, int]]:
    """Topic -> (mean latest score, questions answered), over questions still in the bank;
    `scores`: (question id, the user's latest score) of every question they have a card for."""
    by_topic: dict[str, list[int]] = defaultdict(list)
    for question_id, score in scores:
        question = bank.get(question_id)
        if question is not None:
            by_topic[question.topic].append(score)
    return {t: (sum(s) / len(s), len(s)) for t, s in by_topic.items()}


@dataclass(frozen=True)
class Record:
    """What the planner knows of one user: reviews due (most overdue first), questions
    answered in the last FRESH_FOR, and the latest score per question."""

    due: Sequence[str]
    recent: Sequence[str]
    scores: Sequence[tuple[str, int]]


def plan_questions(
    bank: Bank,
    record: Record,
    *,
    workspace_id: str,
    user_id: str,
    now: datetime,
    count: int,
    topic: str | None = None,
    difficulty: str | None = None,
    open_only: bool = True,
) -> list[Question]:
    def fits(question: Question) -> bool:
        return (
            (question.type == "open" or not open_only)
            and (topic is None or question.topic == topic)
            and (difficulty is None or question.difficulty == difficulty)
        )

    planned: list[Question] = []
    for question_id in record.due:
        question = bank.get(question_id)
        if question is not None and fits(question) and len(planned) < count:
            planned.append(question)
    recent = set(record.recent)
    taken = {p.id for p in planned} | recent
    mastery = topic_mastery(bank, record.scores)
    rng = random.Random(f"{workspace_id}/{user_id}/{now.date()}")
    pools: dict[str, list[Question]] = defaultdict(list)
    for question in bank:
        if fits(question) and question.id not in taken:
            pools[question.topic].append(question)
    if not pools:  # everything was answered lately: allow repeats rather than nothing
        for question in bank:
            if fits(question) and question.id not in {p.id for p in planned}:
                pools[question.topic].append(question)
    for pool in pools.values():
        rng.shuffle(pool)
    order = sorted(pools, key=lambda t: (mastery.get(t, (UNTOUCHED_TOPIC, 0))[0], rng.random()))
    while len(planned) < count and any(pools.values()):
        for name in order:
            if pools[name] and len(planned) < count:
                planned.append(pools[name].pop())
    return planned
