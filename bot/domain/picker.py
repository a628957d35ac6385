"""Which question a channel gets next (docs/design.md "The daily lifecycle").

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
    never = datetime.min.replace(tzinfo=now.tzinfo)
    # A question's family key is its family, or its own id: one map covers both rules.
    family_last: dict[str, datetime] = {}
    topic_last: dict[str, datetime] = {}
    for item in history:
        asked = bank.get(item.question_id)
        if asked is not None:
            family_last[asked.family_key] = max(
                item.asked_at, family_last.get(asked.family_key, never)
            )
            topic_last[asked.topic] = max(item.asked_at, topic_last.get(asked.topic, never))

    relaxed: str | None = None
    candidates = _filtered(bank, topics, difficulty)
    if not candidates:
        candidates, relaxed = list(bank), "filters"
    cutoff = now - NO_REPEAT
    fresh = [q for q in candidates if family_last.get(q.family_key, never) <= cutoff]
    if not fresh:
        oldest = min(family_last.get(q.family_key, never) for q in candidates)
        fresh = [q for q in candidates if family_last.get(q.family_key, never) == oldest]
        relaxed = relaxed or "repeat"
    by_topic: dict[str, list[Question]] = {}
    for q in fresh:
        by_topic.setdefault(q.topic, []).append(q)
    oldest_topic = min(topic_last.get(t, never) for t in by_topic)
    topic = rng.choice(sorted(t for t in by_topic if topic_last.get(t, never) == oldest_topic))
    return Pick(rng.choice(by_topic[topic]), relaxed)
