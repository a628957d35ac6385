"""Mock interviews in DM (docs/design.md "Mock interviews and practice").

A session asks its planned questions one at a time. Each answer is stored, then graded at
once (the next step depends on the score); a partial answer (4-6) gets one follow-up, graded
on the key points the first answer missed. `hint` points at a missed key point and caps that
question at 7; `skip` moves on; `stop` ends with the scorecard; a session idle for 30 minutes
pauses and `resume` picks it up where it stopped, also after a restart, since every step is
in the database. Sessions are keyed by workspace and user, so two users never share state.

States: active (plain lines are answers) -> paused (idle; only `resume`/`stop` reach it) ->
finished. Words the session understands: hint, skip, stop, resume.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.domain import render
from bot.domain.costs import Unit
from bot.domain.mock import HINT_CAP, PARTIAL, ask_text, scorecard
from bot.domain.rubric import Rubric, stored_rubric
from bot.domain.selfcheck import offer
from bot.domain.types import Actor, ChannelRef, Reply, Stored
from bot.packs import Bank, KeyPoint, Question
from bot.services.coach import Coach, LLMCoach
from bot.services.intake import Intake, Submission
from bot.services.practice import Planner
from bot.services.quota import Quota
from bot.store.rows import SessionRow
from bot.store.sessions import Sessions

IDLE = timedelta(minutes=30)


@dataclass(eq=False, kw_only=True)
class MockInterviews:
    sessions: Sessions
    planner: Planner
    bank: Bank
    clock: Clock
    coach: Coach
    intake: Intake
    quota: Quota
    _locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    # -- lookup -------------------------------------------------------------------------

    async def current(self, actor: Actor) -> SessionRow | None:
        """The user's unfinished session; an active one idle for 30 minutes becomes paused."""
        now = self.clock.now()
        session = await self.sessions.current(actor.workspace_id, actor.user_id)
        if session is None:
            return None
        if session.state == "active" and now - session.active_at >= IDLE:
            await self.sessions.update(session.id, state="paused")
            return dataclasses.replace(session, state="paused")
        return session

    def _lock(self, actor: Actor) -> asyncio.Lock:
        """One user's session moves one step at a time: two quick messages (Slack delivers
        them concurrently) never both answer the same question."""
        return self._locks.setdefault((actor.workspace_id, actor.user_id), asyncio.Lock())

    async def route(
        self, *, event_key: str, actor: Actor, text: str, on_stored: Stored | None = None
    ) -> list[Reply] | None:
        """Handle a plain line if it belongs to the user's session (every line while it is
        active; only `resume` and `stop` while it is paused); None when it does not.
        `on_stored`: told once an answer is committed, before it is graded."""
        async with self._lock(actor):
            session = await self.current(actor)
            if session is None:
                return None
            if session.state != "active" and text.strip().lower() not in ("resume", "stop"):
                return None
            return await self.handle(
                event_key=event_key, actor=actor, session=session, text=text, on_stored=on_stored
            )

    # -- starting -----------------------------------------------------------------------

    async def start(
        self,
        actor: Actor,
        channel: ChannelRef,
        *,
        topic: str | None,
        count: int,
        difficulty: str | None,
        again: bool = False,
    ) -> list[Reply]:
        async with self._lock(actor):  # one session per user, even on a double click
            session = await self.current(actor)
            if session is not None:
                return [
                    Reply(
                        "You have a mock interview in progress: say `resume` to go on or "
                        "`stop` to end it first."
                    )
                ]
            now = self.clock.now()
            if again:
                ids = await self.sessions.last_questions(actor.workspace_id, actor.user_id)
                questions = [x for x in map(self.bank.get, ids) if x is not None]
            else:
                questions = await self.planner.plan(
                    actor, now, count=count, topic=topic, difficulty=difficulty
                )
            if not questions:
                return [
                    Reply(
                        "No questions match; try another topic or difficulty."
                        if not again
                        else "You have no earlier mock interview to repeat."
                    )
                ]
            await self.sessions.create(
                actor.workspace_id,
                actor.user_id,
                channel.channel_id,
                [question.id for question in questions],
                now,
            )
            intro = (
                f"Mock interview: {len(questions)} question(s). Answer each in a message; say "
                "`hint` for a nudge (caps that question at 7), `skip`, or `stop`."
            )
            return [Reply(intro), Reply(ask_text(questions[0], 1, len(questions)))]

    # -- a line in the session ----------------------------------------------------------

    async def handle(
        self,
        *,
        event_key: str,
        actor: Actor,
        session: SessionRow,
        text: str,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        word = text.strip().lower()
        if word == "stop":
            return await self._finish(session)
        if word == "resume" or session.state == "paused":
            return await self._resume(session)
        question = self._question(session)
        if question is None:
            return await self._removed(session)
        if word == "hint":
            return await self._hint(actor, session, question)
        if word == "skip":
            return await self._skip(session, question)
        return await self._answer(event_key, actor, session, question, text, on_stored)

    async def command(self, actor: Actor, word: str) -> list[Reply]:
        """`/drill mock hint|skip|stop|resume`: the same words, as commands."""
        async with self._lock(actor):
            session = await self.current(actor)
            if session is None:
                return [Reply("No mock interview in progress; `/drill mock` starts one.")]
            return await self.handle(event_key="", actor=actor, session=session, text=word)

    def _question(self, session: SessionRow) -> Question | None:
        """The question in play: for a follow-up, the question as first asked (kept with the
        follow-up's rubric); else the bank's, None when a pack dropped it meanwhile."""
        if session.follow_up is not None and session.follow_up_rubric is not None:
            return Rubric.from_json(session.follow_up_rubric).question
        return self.bank.get(session.question_ids[session.position])

    async def _removed(self, session: SessionRow) -> list[Reply]:
        """The planned question left the bank while the session waited: pass over it."""
        gone = session.question_ids[session.position]
        return [
            Reply(f"Question `{gone}` is no longer in the question bank; moving on."),
            *await self._advance(session),
        ]

    async def _resume(self, session: SessionRow) -> list[Reply]:
        await self.sessions.update(session.id, state="active", active_at=self.clock.now())
        question = self._question(session)
        if question is None:
            return [Reply("Resuming your mock interview."), *await self._removed(session)]
        total = len(session.question_ids)
        asked = (
            f"Follow-up: {session.follow_up}"
            if session.follow_up
            else ask_text(question, session.position + 1, total)
        )
        return [Reply("Resuming your mock interview."), Reply(asked)]

    async def _coach(self, actor: Actor, unit: Unit) -> Coach:
        """The LLM coach while the user's budget pays for its generation (one unit each),
        else the offline one: over budget a hint or follow-up is still given, offline."""
        if isinstance(self.coach, LLMCoach) and await self.quota.spend(actor, unit) is not None:
            return self.coach.fallback
        return self.coach

    async def _hint(self, actor: Actor, session: SessionRow, question: Question) -> list[Reply]:
        missed = await self._missed_so_far(session, question)
        hint = await (await self._coach(actor, "hint")).hint(question, "", missed)
        await self.sessions.update(session.id, hinted=True, active_at=self.clock.now())
        return [Reply(f"{hint} (This question now scores at most {HINT_CAP}.)")]

    async def _skip(self, session: SessionRow, question: Question) -> list[Reply]:
        if session.follow_up is None:
            await self.sessions.record_item(
                session,
                question.id,
                "skipped",
                None,
                [kp.text for kp in question.key_points],
                review=(0, self.clock.now()),
            )
        return [Reply("Skipped."), *await self._advance(session)]

    async def _answer(
        self,
        event_key: str,
        actor: Actor,
        session: SessionRow,
        question: Question,
        text: str,
        on_stored: Stored | None,
    ) -> list[Reply]:
        rubric = await self._follow_up_rubric(session, question) if session.follow_up else None
        taken = await self.intake.take(
            Submission(
                kind="follow_up" if session.follow_up else "mock",
                event_key=event_key,
                actor=actor,
                question=question,
                text=text,
                channel_id=session.channel_id,
                session_id=session.id,
                # a follow-up is graded on what the first answer missed; a hint caps it
                rubric=rubric,
                grade_cap=HINT_CAP if session.hinted else None,
                on_stored=on_stored,
            )
        )
        if taken.answer is None or taken.answer.floor is not None:
            return taken.replies  # refused, or not an answer: the question still waits
        if taken.outcome is None:
            return [
                Reply(
                    "Your answer is saved, but grading is delayed; it will be graded "
                    "later. Moving on."
                ),
                *await self._record(session, question, None, []),
            ]
        grade = taken.outcome.grade
        graded_on = stored_rubric(taken.answer.rubric, question) or Rubric.of(question)
        check = offer(taken.answer.id, taken.answer.kind, graded_on, grade)
        feedback = Reply(
            render.feedback_text(question, grade, None, None, late=False, check=check), check
        )
        missed_now = [
            kp
            for kp in graded_on.key_points
            if kp.text in grade.missed or kp.text in grade.partly
        ]
        if session.follow_up is None and grade.score in PARTIAL:
            coach = await self._coach(actor, "question")
            follow_up = await coach.follow_up(question, text, missed_now)
            if follow_up:
                narrowed = graded_on.narrowed({kp.text for kp in missed_now})
                await self.sessions.record_item(
                    session,
                    question.id,
                    "answered",
                    grade.score,
                    [kp.text for kp in missed_now],
                    session_values={"follow_up": follow_up, "follow_up_rubric": narrowed.to_json()},
                )
                return [feedback, Reply(f"Follow-up: {follow_up}")]
        return [feedback, *await self._record(session, question, grade.score, missed_now)]

    async def _record(
        self, session: SessionRow, question: Question, score: int | None, missed: Sequence[KeyPoint]
    ) -> list[Reply]:
        if session.follow_up is None:
            await self.sessions.record_item(
                session, question.id, "answered", score, [kp.text for kp in missed]
            )
        else:
            await self.sessions.record_follow_up(session, score)
        return await self._advance(session)

    async def _advance(self, session: SessionRow) -> list[Reply]:
        position = session.position + 1
        ids = session.question_ids
        gone: list[str] = []
        while position < len(ids) and self.bank.get(ids[position]) is None:
            gone.append(ids[position])  # a pack dropped it while the session waited
            position += 1
        await self.sessions.update(
            session.id,
            position=position,
            follow_up=None,
            follow_up_rubric=None,
            hinted=False,
            active_at=self.clock.now(),
        )
        skipped = (
            [Reply(f"No longer in the question bank, passed over: {', '.join(gone)}.")]
            if gone
            else []
        )
        question = self.bank.get(ids[position]) if position < len(ids) else None
        if question is None:
            return skipped + await self._finish(session)
        return [*skipped, Reply(ask_text(question, position + 1, len(ids)))]

    async def _follow_up_rubric(self, session: SessionRow, question: Question) -> Rubric:
        """What a follow-up answer is graded on: the key points the first answer missed, as
        kept when the follow-up was asked (older sessions: narrowed from the bank)."""
        if session.follow_up_rubric is not None:
            return Rubric.from_json(session.follow_up_rubric)
        missed = await self.sessions.missed(session.id, session.position)
        return Rubric.of(question).narrowed(missed or ())

    async def _missed_so_far(self, session: SessionRow, question: Question) -> list[KeyPoint]:
        """Key points the first answer to this question missed (all of them before it)."""
        if session.follow_up is not None:
            return list((await self._follow_up_rubric(session, question)).key_points)
        return list(question.key_points)

    # -- the end ------------------------------------------------------------------------

    async def _finish(self, session: SessionRow) -> list[Reply]:
        items = await self.sessions.finish(session.id)
        return [Reply(scorecard(self.bank, items, len(session.question_ids)))]
