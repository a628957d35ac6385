"""The cost guard's rules as data (docs/design.md "Grades", cost guard).

Each user has one rolling 24-hour budget per platform (`DRILLBOT_PRACTICE_LIMIT` units, counted
across that platform's workspaces, whatever the grader). A unit is one grading request or LLM
generation the user started; what spends one is named by `Unit`. Free: a daily's first counted
answer and its first two replacements (`FREE_DAILY_TEXTS`), floored answers, offline hints and
follow-ups, system re-grades (provisional to final) and repair calls. Which answer kind spends
which unit is its row of `bot.domain.answers.POLICIES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

WINDOW = timedelta(days=1)
#: A daily answer's counted texts that cost nothing: the first one and two replacements.
FREE_DAILY_TEXTS = 3

#: `answer`: a practice or mock answer; `follow_up`: the answer to a mock follow-up;
#: `replacement`: a daily answer's form re-submission or thread edit beyond the free ones;
#: `regrade`: `/drill regrade`; `hint` and `question`: an LLM-written hint or follow-up question.
Unit = Literal["answer", "follow_up", "replacement", "regrade", "hint", "question"]


@dataclass(frozen=True)
class Charge:
    """One unit the user asks to spend now, unless `free` covers it: an answer spends its unit
    only once it has had more than `free` counted texts (a daily answer's free edits)."""

    workspace_id: str
    user_id: str
    unit: Unit
    limit: int
    at: datetime
    free: int = 0

    @property
    def since(self) -> datetime:
        """The start of the rolling window."""
        return self.at - WINDOW

    def due(self, counted: int) -> bool:
        """Whether the `counted`-th counted text of an answer spends the unit."""
        return counted > self.free


@dataclass(frozen=True)
class Over:
    """The budget is spent: nothing was charged, and it frees up at `until`."""

    until: datetime


def frees_at(spent: Sequence[datetime], limit: int, now: datetime) -> datetime:
    """When a budget of `limit` units, with units spent at these times within the window,
    has room for one more: when enough of the oldest have left the window."""
    recent = sorted(t for t in spent if t > now - WINDOW)
    if limit <= 0:
        return now + WINDOW  # a budget of nothing (tests) never frees: a day is as good
    if len(recent) < limit:
        return now
    return recent[len(recent) - limit] + WINDOW


def _when(until: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    wait = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    return f"{until:%Y-%m-%d %H:%M} UTC (in {wait})"


def over_text(over: Over, limit: int, now: datetime, *, kept: str = "") -> str:
    """The refusal: the budget, and when it frees up. `kept`: what was kept all the same."""
    text = (
        f"You have used your {limit} graded requests of the last 24 hours; more can be "
        f"graded from {_when(over.until, now)}."
    )
    return f"{text} {kept}" if kept else text
