"""The row types the repositories hand to services: plain frozen values, no connection.

Services never see SQLAlchemy rows; a repository turns each row into one of these (or into a
domain value) before returning it.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any, Self


class FromRow:
    """`of(row)`: the dataclass's fields, read by name from a SQLAlchemy row."""

    @classmethod
    def of(cls, row: Any) -> Self:
        """A field with a default may be missing from the row (it was not selected)."""
        names = set(row._fields)
        given = {
            f.name: getattr(row, f.name)
            for f in fields(cls)  # type: ignore[arg-type]
            if f.name in names or f.default is MISSING
        }
        return cls(**given)


@dataclass(frozen=True)
class ChannelRow(FromRow):
    workspace_id: str
    id: str
    name: str
    cron: str | None
    timezone: str
    topics: list[str]
    difficulty: str
    window_minutes: int | None
    feedback: str
    paused: bool
    active: bool
    schedule_since: datetime
    created_at: datetime
    remind_minutes: int | None
    digest: bool
    holidays: str | None


@dataclass(frozen=True)
class DailyRow(FromRow):
    id: int
    workspace_id: str
    channel_id: str
    question_id: str
    local_date: str
    slot: str
    kind: str
    status: str
    scheduled_at: datetime
    posted_at: datetime | None
    closes_at: datetime
    closed_at: datetime | None
    message_id: str | None

    def is_open(self, now: datetime) -> bool:
        return self.status == "posted" and now < self.closes_at

    def on_time(self, at: datetime) -> bool:
        """Whether an answer sent at `at` came before this daily closed (its window's end, or
        an earlier `close-now`)."""
        if self.status not in ("posted", "closed") or at >= self.closes_at:
            return False
        return self.closed_at is None or at < self.closed_at


@dataclass(frozen=True)
class AnswerRow(FromRow):
    id: int
    workspace_id: str
    channel_id: str
    daily_id: int | None
    user_id: str
    question_id: str
    kind: str
    source: str
    text: str
    message_id: str | None
    answered_at: datetime
    status: str
    attempts: int
    score: int | None
    points: int | None
    regrade_used: bool
    rubric_id: str | None
    grade_cap: int | None
    override_by: str | None
    floor: str | None
    counted_texts: int
    held_text: str | None
    #: The rubric it is graded against (a bot.domain.rubric.Rubric, as stored), when read.
    rubric: dict[str, Any] | None = None


@dataclass(frozen=True)
class SessionRow(FromRow):
    """A mock interview: where it stands, so it resumes after a pause or a restart."""

    id: int
    workspace_id: str
    user_id: str
    channel_id: str
    state: str
    question_ids: list[str]
    position: int
    follow_up: str | None
    #: The follow-up's rubric (a bot.domain.rubric.Rubric, as stored): what it is graded on.
    follow_up_rubric: dict[str, Any] | None
    hinted: bool
    active_at: datetime


@dataclass(frozen=True)
class MockItemRow(FromRow):
    question_id: str
    outcome: str
    score: int | None
    follow_up_score: int | None
    hinted: bool
    missed: list[str]


@dataclass(frozen=True)
class PracticeRow(FromRow):
    """A practice question waiting for the user's answer."""

    workspace_id: str
    user_id: str
    channel_id: str
    question_id: str
    started_at: datetime


@dataclass(frozen=True)
class ResultRow(FromRow):
    """One answer of a daily, for its reveal."""

    user_id: str
    kind: str
    status: str
    score: int | None
    text: str
    answered_at: datetime
    name: str | None
    privacy: str | None


@dataclass(frozen=True)
class BoardRow(FromRow):
    user_id: str
    points: int
    answers: int
    last: datetime
    name: str | None
    privacy: str | None


@dataclass(frozen=True)
class HistoryRow(FromRow):
    id: int
    question_id: str
    kind: str
    status: str
    score: int | None
    points: int | None
    answered_at: datetime
    detail: dict[str, Any] | None
