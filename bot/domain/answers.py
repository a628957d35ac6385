"""The rules of taking an answer in, as data: what each kind of answer may do.

Every answer, whatever brought it (a thread reply, its edit, the private form, an MCQ click, a
plain line, a practice answer, a mock interview answer or its follow-up), goes through one
intake pipeline (`bot.services.intake`): text checks and floors, dedupe, cost guard, store,
grade, reply. What differs between kinds is a row of `POLICIES`, never a copy of the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.domain.costs import FREE_DAILY_TEXTS, Unit
from bot.grading.floors import REASONS, Floor, floor_of
from bot.packs import Question

MAX_ANSWER_CHARS = 4000
#: A platform's own send time is trusted this far back (retries, a replay after a reconnect).
MAX_DELIVERY_DELAY = timedelta(hours=6)
RECEIVED = "Got your answer; it stays private until the reveal."
ALREADY_ANSWERED = "You have already answered this question; your first answer counts."

Kind = Literal["thread", "edit", "form", "choice", "line", "practice", "mock", "follow_up"]


@dataclass(frozen=True)
class Policy:
    """What one kind of answer does at each step of the intake pipeline.

    `source`: how the stored answer says it came in; `unit`: the cost guard's unit a counted
    (non-floored) text of it spends once the answer has had more than `free` of them (None: it
    starts no grading request, as an MCQ click); `quiet`: a refusal or a second answer gets
    no reply (in a thread, a non-answer is discussion); `replaces`: which earlier answer of the
    user to the same daily it replaces before close (`message`: the same message, edited;
    `form`: an earlier form answer; `nothing`; a floored answer is replaced by any);
    `ack`: the reply once stored; `at_once`: graded before the reply (a mock interview's next
    step depends on the score)."""

    source: str
    unit: Unit | None = None
    free: int = 0
    quiet: bool = False
    replaces: Literal["nothing", "message", "form"] = "nothing"
    ack: str | None = None
    at_once: bool = False


def _daily(source: str, **rest: Any) -> Policy:
    """A daily answer's policy: its first counted text and two replacements are free, every
    later replacement spends a unit."""
    return Policy(source, unit="replacement", free=FREE_DAILY_TEXTS, **rest)


POLICIES: dict[Kind, Policy] = {
    "thread": _daily("thread", quiet=True),
    "edit": _daily("thread", quiet=True, replaces="message"),
    "form": _daily("form", replaces="form", ack=RECEIVED),
    "choice": Policy("choice"),
    "line": _daily("line"),
    "practice": Policy("dm", unit="answer"),
    "mock": Policy("mock", unit="answer", at_once=True),
    "follow_up": Policy("mock", unit="follow_up", at_once=True),
}


@dataclass(frozen=True)
class Checked:
    """An answer's text after the checks: normalised, or refused with the reason to show; an
    accepted text carries its floor (None: it is an answer)."""

    text: str
    refusal: str | None = None
    floor: Floor | None = None


def check_text(question: Question, text: str) -> Checked:
    """The checks every answer passes before anything is stored: a length limit, for an MCQ
    one of its letters (normalised to upper case; a choice is never floored), and for an open
    question the floors (`bot.grading.floors`). Pure: no clock, no database."""
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS:
        return Checked(
            text,
            f"That answer is {len(text)} characters; the limit is {MAX_ANSWER_CHARS}. "
            "Please shorten it and send it again.",
        )
    if question.type == "mcq":
        letter = text.upper().rstrip(").")
        if letter not in question.letters:
            return Checked(
                text,
                f"This question is multiple choice: answer with one of "
                f"{', '.join(question.letters)}.",
            )
        return Checked(letter)
    return Checked(text, floor=floor_of(question.prompt, text))


def sent_time(sent_at: datetime | None, now: datetime) -> datetime:
    """When an answer counts as given: the platform's send time when it is plausible (not in
    the future, at most MAX_DELIVERY_DELAY old), else the time it reached us."""
    if sent_at is None or sent_at > now or now - sent_at > MAX_DELIVERY_DELAY:
        return now
    return sent_at


def may_replace(
    policy: Policy,
    *,
    kind: str,
    existing_kind: str,
    existing_source: str,
    existing_message: str | None,
    existing_floor: str | None,
    message_id: str | None,
    question: Question,
) -> bool:
    """Whether a new answer replaces the user's stored answer to the same daily. A floored
    answer holds no slot: anything replaces it (after close too: the new answer is then late).
    Otherwise only while both are on time, never for an MCQ (the first click counts), and only
    as its kind allows."""
    if question.type == "mcq":
        return False
    if existing_floor is not None:
        return True
    if kind != "daily" or existing_kind != "daily":
        return False
    if policy.replaces == "message":
        return message_id is not None and message_id == existing_message
    if policy.replaces == "form":
        return existing_source == "form"
    return False


#: What follows a floored answer, by the stored answer's kind.
_AFTER_FLOOR = {
    "daily": "It earns nothing: your next reply, edit or form answer before close replaces it.",
    "late": "It earns nothing.",
    "practice": "It earns nothing: the question still waits for your answer.",
}


def floor_text(floor: Floor, kind: str) -> str:
    """What a floored answer gets: why, and that it earns nothing (`kind`: daily, late or
    practice, the stored answer's kind)."""
    return f"{REASONS[floor]} {_AFTER_FLOOR[kind]}"
