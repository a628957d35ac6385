"""Which question a channel gets next (DESIGN.md "post").

No question, nor any question of its family, repeats in a channel within 30 days; topics
rotate (the allowed topic asked least recently goes first). When the filters leave nothing
fresh, the 30-day rule is relaxed first (the least recently asked question returns), then the
topic and difficulty filters; a post is never skipped. The choice within a topic is seeded by
channel and date so a replay picks the same question.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.packs import Bank, Question

NO_REPEAT = timedelta(days=30)


@dataclass(frozen=True)
class Asked:
    question_id: str
    asked_at: datetime


@dataclass(frozen=True)
class Pick:
    question: Question
    relaxed: str | None  # None, "repeat" (30-day rule relaxed) or "filters"


def _filtered(bank: Bank, topics: Sequence[str], difficulty: str) -> list[Question]:
    return [
        q
        for q in bank
        if (not topics or q.topic in topics)
        and (difficulty == "mixed" or q.difficulty == difficulty)
    ]


def pick_question(
    bank: Bank,
    *,
    topics: Sequence[str],
    difficulty: str,
    history: Sequence[Asked],
    now: datetime,
    seed: str,
) -> Pick:
    rng = random.Random(seed)
    last_asked: dict[str, datetime] = {}
    family_last: dict[str, datetime] = {}
    topic_last: dict[str, datetime] = {}
    for item in history:
        q = bank.get(item.question_id)
        last_asked[item.question_id] = max(
            item.asked_at, last_asked.get(item.question_id, item.asked_at)
        )
        if q is not None:
            family_last[q.family_key] = max(
                item.asked_at, family_last.get(q.family_key, item.asked_at)
            )
            topic_last[q.topic] = max(item.asked_at, topic_last.get(q.topic, item.asked_at))

    relaxed: str | None = None
    candidates = _filtered(bank, topics, difficulty)
    if not candidates:
        candidates, relaxed = list(bank), "filters"
    cutoff = now - NO_REPEAT
    fresh = [
        q
        for q in candidates
        if family_last.get(q.family_key, cutoff) <= cutoff
        and last_asked.get(q.id, cutoff) <= cutoff
    ]
    if not fresh:
        oldest = min(
            family_last.get(q.family_key, datetime.min.replace(tzinfo=now.tzinfo))
            for q in candidates
        )
        fresh = [
            q
            for q in candidates
            if family_last.get(q.family_key, datetime.min.replace(tzinfo=now.tzinfo)) == oldest
        ]
        relaxed = relaxed or "repeat"
    never = datetime.min.replace(tzinfo=now.tzinfo)
    by_topic: dict[str, list[Question]] = {}
    for q in fresh:
        by_topic.setdefault(q.topic, []).append(q)
    oldest_topic = min(topic_last.get(t, never) for t in by_topic)
    topic = rng.choice(sorted(t for t in by_topic if topic_last.get(t, never) == oldest_topic))
    return Pick(rng.choice(by_topic[topic]), relaxed)
