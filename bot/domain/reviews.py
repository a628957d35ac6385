"""Spaced repetition: one FSRS card per user and question, moved by every final grade.

The score maps to an FSRS rating (0-3 Again, 4-6 Hard, 7-8 Good, 9-10 Easy). Learning steps
are a day rather than FSRS's default minutes: an interview question answered badly should
come back tomorrow, not ten minutes later in the same sitting. Fuzzing is off so a review
schedule is reproducible (tests inject the clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler

SCHEDULER = Scheduler(
    learning_steps=(timedelta(days=1),),
    relearning_steps=(timedelta(days=1),),
    enable_fuzzing=False,
)


def rating(score: int) -> Rating:
    if score <= 3:
        return Rating.Again
    if score <= 6:
        return Rating.Hard
    return Rating.Good if score <= 8 else Rating.Easy


def _card_id(now: datetime) -> int:
    """fsrs's own scheme (creation time in epoch milliseconds), minus the sleep; the id is
    informational, the row's key is (workspace, user, question)."""
    return int(now.timestamp() * 1000)


def next_card(
    stored: dict[str, Any] | None, score: int, now: datetime
) -> tuple[dict[str, Any], datetime]:
    """The card after a review with this score (a new card when none is stored): the card as
    stored data, and when it is due next."""
    # A new card gets its id from our keys: without one, fsrs sleeps 1 ms (on the event loop)
    # to make a timestamp id unique.
    card = Card.from_dict(stored) if stored else Card(card_id=_card_id(now), due=now)  # type: ignore[arg-type]
    card, _log = SCHEDULER.review_card(card, rating(score), now)
    return dict(card.to_dict()), card.due
