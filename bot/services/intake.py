"""The one intake pipeline: every answer, whatever brought it, passes the same steps once.

1. text checks (`check_text`, pure: the length limit, an MCQ's letter, and the floors, whose
   result is stored on the answer);
2. dedupe, cost guard and store in one transaction, grouped with concurrent answers: the event
   key, the user, the unit the policy's `unit` spends (refused over budget; a daily
   replacement over budget is held, ungraded) and the answer; an answer slot already taken is
   replaced only as the policy allows, and a floored answer takes no slot; then `on_stored`:
   the adapter acknowledges the platform's delivery once it is committed, so the steps below
   run after the acknowledgement and a crash there loses nothing (the tick grades a stored
   answer that has no grade);
3. submit for grading (queued, or at once when the policy says so); a floored answer is not
   graded: it gets one line saying it earns nothing;
4. the reply.

What differs between a thread reply, an edit, a form answer, an MCQ click, a plain line, a
practice answer, a mock answer and a follow-up is their row of `bot.domain.answers.POLICIES`.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.domain.answers import (
    ALREADY_ANSWERED,
    POLICIES,
    Kind,
    check_text,
    floor_text,
    may_replace,
    sent_time,
)
from bot.domain.rubric import Rubric
from bot.domain.text import clean_text
from bot.domain.types import Actor, Reply
from bot.domain.types import Stored as OnStored
from bot.errors import AnswerNotSaved
from bot.packs import Question
from bot.services.grading import GradingQueue, Outcome
from bot.services.quota import Quota
from bot.store.answers import Answers, NewAnswer, Stored
from bot.store.db import is_storage_error, storage_trouble
from bot.store.rows import AnswerRow, DailyRow

#: Set once the delivery being handled has its answer committed, so a failure later in the
#: same delivery can tell the user truthfully that nothing was lost (`bot.services.inbound`).
answer_stored: ContextVar[bool] = ContextVar("answer_stored", default=False)

#: What a refusal over budget says was kept: a daily replacement is held with its earlier grade;
#: a practice or mock question waits for its answer.
HELD = "Your new answer is saved, but not graded: your earlier grade stands."
WAITS = "Your question still waits for your answer."


@dataclass(frozen=True)
class Submission:
    """One answer as it arrives. `daily`: the daily it answers (None for practice and mock
    answers, which need `channel_id`); `session_id`: the mock session it belongs to;
    `rubric`: what it is graded on (the question's whole rubric when None; a follow-up's is
    what the first answer missed), stored with the answer so later edits of the bank never
    change its grade; `grade_cap`: a hint caps the score; `on_stored`: told once the answer is
    committed (see `bot.ports.Inbound`)."""

    kind: Kind
    event_key: str
    actor: Actor
    question: Question
    text: str
    daily: DailyRow | None = None
    channel_id: str = ""
    message_id: str | None = None
    sent_at: datetime | None = None
    session_id: int | None = None
    rubric: Rubric | None = None
    grade_cap: int | None = None
    on_stored: OnStored | None = None


@dataclass(frozen=True)
class Taken:
    """What the pipeline did: the replies for the user, the stored answer (None when nothing
    was stored) and, for a kind graded at once, the grading outcome (None if it failed)."""

    replies: list[Reply]
    answer: AnswerRow | None = None
    outcome: Outcome | None = None


@dataclass(eq=False, kw_only=True)
class Intake:
    answers: Answers
    clock: Clock
    quota: Quota
    grading: GradingQueue
    #: How many answers went through `take`, by kind (tests pin one pass per answer).
    passes: dict[str, int] = field(default_factory=dict)

    async def take(self, sub: Submission) -> Taken:
        self.passes[sub.kind] = self.passes.get(sub.kind, 0) + 1
        policy = POLICIES[sub.kind]
        checked = check_text(sub.question, clean_text(sub.text))
        if checked.refusal is not None:
            # In a thread a non-answer to an MCQ is discussion; elsewhere the user is told.
            quiet = policy.quiet and sub.question.type == "mcq"
            return Taken([] if quiet else [Reply(checked.refusal)])
        now = self.clock.now()
        at = sent_time(sub.sent_at, now) if sub.daily is not None else now
        kind = "practice" if sub.daily is None else ("daily" if sub.daily.on_time(at) else "late")
        charge = (
            self.quota.charge(sub.actor, policy.unit, policy.free)
            if policy.unit is not None and checked.floor is None
            else None
        )

        def replaces(existing: AnswerRow) -> bool:
            return may_replace(
                policy,
                kind=kind,
                existing_kind=existing.kind,
                existing_source=existing.source,
                existing_message=existing.message_id,
                existing_floor=existing.floor,
                message_id=sub.message_id,
                question=sub.question,
            )

        stored = await self._store(
            NewAnswer(
                workspace_id=sub.actor.workspace_id,
                user_id=sub.actor.user_id,
                user_name=clean_text(sub.actor.name or sub.actor.user_id),
                event_key=sub.event_key or None,
                channel_id=sub.daily.channel_id if sub.daily else sub.channel_id,
                question_id=sub.question.id,
                daily_id=sub.daily.id if sub.daily else None,
                kind=kind,
                source=policy.source,
                text=checked.text,
                message_id=sub.message_id,
                answered_at=at,
                now=now,
                rubric=(sub.rubric or Rubric.of(sub.question)).stored(),
                grade_cap=sub.grade_cap,
                replaces=replaces,
                practice=sub.kind == "practice",
                session_id=sub.session_id,
                floor=checked.floor,
                charge=charge,
            )
        )
        if sub.on_stored is not None:
            sub.on_stored()  # committed, whatever the outcome: a duplicate is stored already
        if stored.over is not None:
            kept = HELD if stored.answer is not None else WAITS
            return Taken(self.quota.refusal(stored.over, kept), stored.answer)
        if stored.answer is None:
            told = stored.outcome == "taken" and not policy.quiet
            return Taken([Reply(ALREADY_ANSWERED)] if told else [])
        answer_stored.set(True)
        if checked.floor is not None:
            return Taken([Reply(floor_text(checked.floor, kind))], stored.answer)
        if policy.at_once:
            return Taken([], stored.answer, await self.grading.grade_now(stored.answer))
        self.grading.submit(stored.answer.id, (stored.answer, sub.daily))
        return Taken([Reply(policy.ack)] if policy.ack else [], stored.answer)

    async def _store(self, answer: NewAnswer) -> Stored:
        """Ingest, or `AnswerNotSaved` when the database refuses (full, read-only, gone): the
        user must hear that their answer is not kept."""
        try:
            return await self.answers.ingest(answer)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            raise AnswerNotSaved(storage_trouble(exc)) from exc
