"""The rules of taking an answer in, as data: what each kind of answer may do.

Every answer, whatever brought it (a thread reply, its edit, the private form, an MCQ click, a
plain line, a practice answer, a mock interview answer or its follow-up), goes through one
intake pipeline (`bot.services.intake`): text checks, quota, dedupe, store, grade, reply. What
differs between kinds is a row of `POLICIES`, never a copy of the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

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

    `source`: how the stored answer says it came in; `quota`: the cost guard counts it and
    refuses it when the user's allowance is spent; `quiet`: a refusal or a second answer gets
    no reply (in a thread, a non-answer is discussion); `replaces`: which earlier answer of the
    user to the same daily it replaces before close (`message`: the same message, edited;
    `form`: an earlier form answer; `nothing`); `ack`: the reply once stored; `at_once`: graded
    before the reply (a mock interview's next step depends on the score)."""

    source: str
    quota: bool = False
    quiet: bool = False
    replaces: Literal["nothing", "message", "form"] = "nothing"
    ack: str | None = None
    at_once: bool = False


POLICIES: dict[Kind, Policy] = {
    "thread": Policy("thread", quiet=True),
    "edit": Policy("thread", quiet=True, replaces="message"),
    "form": Policy("form", replaces="form", ack=RECEIVED),
    "choice": Policy("choice"),
    "line": Policy("line"),
    "practice": Policy("dm", quota=True),
    "mock": Policy("mock", quota=True, at_once=True),
    "follow_up": Policy("mock", quota=True, at_once=True),
}
#: The stored sources the cost guard counts: today practice and mock answers only.
QUOTA_SOURCES = tuple(sorted({p.source for p in POLICIES.values() if p.quota}))


@dataclass(frozen=True)
class Checked:
    """An answer's text after the checks: normalised, or refused with the reason to show."""

    text: str
    refusal: str | None = None


def check_text(question: Question, text: str) -> Checked:
    """The floors every answer passes before anything is stored: a length limit, and for an
    MCQ one of its letters (normalised to upper case). Pure: no clock, no database."""
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
    return Checked(text)


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
    message_id: str | None,
    question: Question,
) -> bool:
    """Whether a new answer replaces the user's stored answer to the same daily: only while
    both are on time, never for an MCQ (the first click counts), and only as its kind allows."""
    if kind != "daily" or existing_kind != "daily" or question.type == "mcq":
        return False
    if policy.replaces == "message":
        return message_id is not None and message_id == existing_message
    if policy.replaces == "form":
        return existing_source == "form"
    return False


def limit_text(limit: int, question_kept: bool = False) -> str:
    """The cost guard's refusal."""
    kept = " Your question waits for you: answer it again tomorrow." if question_kept else ""
    return (
        f"You have had {limit} graded practice answers in the last 24 hours, the daily limit; "
        f"the daily question still counts.{kept}"
    )
