"""Mock interviews in DM (DESIGN.md "Mock interviews and practice").

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
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core import render
from bot.core.coach import Coach
from bot.core.planner import plan_questions
from bot.core.reviews import record_review
from bot.core.types import Actor, ChannelRef, Reply
from bot.grading.base import band
from bot.packs import KeyPoint, Question
from bot.store import queries as q
from bot.store.tables import mock_items, mock_sessions

if TYPE_CHECKING:
    from bot.core.engine import Engine

IDLE = timedelta(minutes=30)
HINT_CAP = 7
PARTIAL = range(4, 7)


@dataclass(frozen=True)
class Session:
    id: int
    workspace_id: str
    user_id: str
    channel_id: str
    state: str
    question_ids: list[str]
    position: int
    follow_up: str | None
    hinted: bool

    @classmethod
    def of(cls, row: sa.Row[Any]) -> Session:
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


class MockInterviews:
    def __init__(self, engine: Engine, coach: Coach) -> None:
        self.engine = engine
        self.coach = coach
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    # -- lookup -------------------------------------------------------------------------

    async def current(self, actor: Actor) -> Session | None:
        """The user's unfinished session; an active one idle for 30 minutes becomes paused."""
        now = self.engine.clock.now()
        async with self.engine.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(mock_sessions)
                    .where(
                        mock_sessions.c.workspace_id == actor.workspace_id,
                        mock_sessions.c.user_id == actor.user_id,
                        mock_sessions.c.state != "finished",
                    )
                    .order_by(mock_sessions.c.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        if row.state == "active" and now - row.active_at >= IDLE:
            async with self.engine.db.write() as conn:
                await _update(conn, row.id, state="paused")
            return dataclasses.replace(Session.of(row), state="paused")
        return Session.of(row)

    def _lock(self, actor: Actor) -> asyncio.Lock:
        """One user's session moves one step at a time: two quick messages (Slack delivers
        them concurrently) never both answer the same question."""
        return self._locks.setdefault((actor.workspace_id, actor.user_id), asyncio.Lock())

    async def route(self, *, event_key: str, actor: Actor, text: str) -> list[Reply] | None:
        """Handle a plain line if it belongs to the user's session (every line while it is
        active; only `resume` and `stop` while it is paused); None when it does not."""
        async with self._lock(actor):
            session = await self.current(actor)
            if session is None:
                return None
            if session.state != "active" and text.strip().lower() not in ("resume", "stop"):
                return None
            return await self.handle(event_key=event_key, actor=actor, session=session, text=text)

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
            now = self.engine.clock.now()
            async with self.engine.db.write() as conn:
                if again:
                    ids = await conn.scalar(
                        sa.select(mock_sessions.c.question_ids)
                        .where(
                            mock_sessions.c.workspace_id == actor.workspace_id,
                            mock_sessions.c.user_id == actor.user_id,
                        )
                        .order_by(mock_sessions.c.id.desc())
                        .limit(1)
                    )
                    questions = [x for x in map(self.engine.bank.get, ids or []) if x is not None]
                else:
                    questions = await plan_questions(
                        conn,
                        self.engine.bank,
                        workspace_id=actor.workspace_id,
                        user_id=actor.user_id,
                        now=now,
                        count=count,
                        topic=topic,
                        difficulty=difficulty,
                    )
                if not questions:
                    return [
                        Reply(
                            "No questions match; try another topic or difficulty."
                            if not again
                            else "You have no earlier mock interview to repeat."
                        )
                    ]
                await conn.execute(
                    mock_sessions.insert().values(
                        workspace_id=actor.workspace_id,
                        user_id=actor.user_id,
                        channel_id=channel.channel_id,
                        state="active",
                        question_ids=[question.id for question in questions],
                        position=0,
                        started_at=now,
                        active_at=now,
                    )
                )
            intro = (
                f"Mock interview: {len(questions)} question(s). Answer each in a message; say "
                "`hint` for a nudge (caps that question at 7), `skip`, or `stop`."
            )
            return [Reply(intro), Reply(_ask(questions[0], 1, len(questions)))]

    # -- a line in the session ----------------------------------------------------------

    async def handle(
        self, *, event_key: str, actor: Actor, session: Session, text: str
    ) -> list[Reply]:
        word = text.strip().lower()
        if word == "stop":
            return await self._finish(session)
        if word == "resume" or session.state == "paused":
            return await self._resume(session)
        question = self._question(session)
        if word == "hint":
            return await self._hint(session, question)
        if word == "skip":
            return await self._skip(session, question)
        return await self._answer(event_key, actor, session, question, text)

    async def command(self, actor: Actor, word: str) -> list[Reply]:
        """`/drill mock hint|skip|stop|resume`: the same words, as commands."""
        async with self._lock(actor):
            session = await self.current(actor)
            if session is None:
                return [Reply("No mock interview in progress; `/drill mock` starts one.")]
            return await self.handle(event_key="", actor=actor, session=session, text=word)

    def _question(self, session: Session) -> Question:
        question = self.engine.bank.get(session.question_ids[session.position])
        if question is None:  # a pack changed under a paused session
            raise LookupError(session.question_ids[session.position])
        return question

    async def _resume(self, session: Session) -> list[Reply]:
        async with self.engine.db.write() as conn:
            await _update(conn, session.id, state="active", active_at=self.engine.clock.now())
        question = self._question(session)
        total = len(session.question_ids)
        asked = (
            f"Follow-up: {session.follow_up}"
            if session.follow_up
            else _ask(question, session.position + 1, total)
        )
        return [Reply("Resuming your mock interview."), Reply(asked)]

    async def _hint(self, session: Session, question: Question) -> list[Reply]:
        missed = await self._missed_so_far(session, question)
        hint = await self.coach.hint(question, "", missed)
        async with self.engine.db.write() as conn:
            await _update(conn, session.id, hinted=True, active_at=self.engine.clock.now())
        return [Reply(f"{hint} (This question now scores at most {HINT_CAP}.)")]

    async def _skip(self, session: Session, question: Question) -> list[Reply]:
        now = self.engine.clock.now()
        async with self.engine.db.write() as conn:
            if session.follow_up is None:
                await conn.execute(
                    mock_items.insert().values(
                        session_id=session.id,
                        position=session.position,
                        question_id=question.id,
                        outcome="skipped",
                        hinted=session.hinted,
                        missed=[kp.text for kp in question.key_points],
                    )
                )
                await record_review(
                    conn, session.workspace_id, session.user_id, question.id, 0, now
                )
        return [Reply("Skipped."), *await self._advance(session)]

    async def _answer(
        self, event_key: str, actor: Actor, session: Session, question: Question, text: str
    ) -> list[Reply]:
        text, refusal = self.engine.check_text(question, text)
        if refusal:
            return refusal
        if not await self.engine.practice_quota_left(actor):
            return self.engine.limit_reached(question_kept=True)
        now = self.engine.clock.now()
        missed = (await self._missed_so_far(session, question)) if session.follow_up else []
        async with self.engine.db.write() as conn:
            if event_key and not await self.engine.record_event(conn, actor, event_key):
                return []
            answer_id = await q.insert_practice_answer(
                conn,
                workspace_id=actor.workspace_id,
                channel_id=session.channel_id,
                user_id=actor.user_id,
                question_id=question.id,
                source="mock",
                text=text,
                at=now,
                # a follow-up is graded on what the first answer missed; a hint caps it
                rubric=[kp.text for kp in missed] or None,
                grade_cap=HINT_CAP if session.hinted else None,
            )
            await _update(conn, session.id, active_at=now)
        outcome = await self.engine.grading.grade_now(answer_id)
        if outcome is None:
            return [
                Reply(
                    "Your answer is saved, but grading is delayed; it will be graded "
                    "later. Moving on."
                ),
                *await self._record(session, question, None, []),
            ]
        grade = outcome.grade
        feedback = Reply(render.feedback_text(question, grade, None, None, late=False))
        missed_now = [
            kp
            for kp in (missed or question.key_points)
            if kp.text in grade.missed or kp.text in grade.partly
        ]
        if session.follow_up is None and grade.score in PARTIAL:
            follow_up = await self.coach.follow_up(question, text, missed_now)
            if follow_up:
                async with self.engine.db.write() as conn:
                    await _item(conn, session, question, grade.score, missed_now)
                    await _update(conn, session.id, follow_up=follow_up)
                return [feedback, Reply(f"Follow-up: {follow_up}")]
        return [feedback, *await self._record(session, question, grade.score, missed_now)]

    async def _record(
        self, session: Session, question: Question, score: int | None, missed: Sequence[KeyPoint]
    ) -> list[Reply]:
        async with self.engine.db.write() as conn:
            if session.follow_up is None:
                await _item(conn, session, question, score, missed)
            else:
                await conn.execute(
                    mock_items.update()
                    .where(
                        mock_items.c.session_id == session.id,
                        mock_items.c.position == session.position,
                    )
                    .values(follow_up_score=score)
                )
        return await self._advance(session)

    async def _advance(self, session: Session) -> list[Reply]:
        position = session.position + 1
        async with self.engine.db.write() as conn:
            await _update(
                conn,
                session.id,
                position=position,
                follow_up=None,
                hinted=False,
                active_at=self.engine.clock.now(),
            )
        if position >= len(session.question_ids):
            return await self._finish(session)
        question = self.engine.bank.get(session.question_ids[position])
        assert question is not None
        return [Reply(_ask(question, position + 1, len(session.question_ids)))]

    async def _missed_so_far(self, session: Session, question: Question) -> list[KeyPoint]:
        """Key points the first answer to this question missed (all of them before it)."""
        async with self.engine.db.read() as conn:
            missed = await conn.scalar(
                sa.select(mock_items.c.missed).where(
                    mock_items.c.session_id == session.id, mock_items.c.position == session.position
                )
            )
        if missed is None:
            return list(question.key_points)
        return [kp for kp in question.key_points if kp.text in missed]

    # -- the end ------------------------------------------------------------------------

    async def _finish(self, session: Session) -> list[Reply]:
        async with self.engine.db.write() as conn:
            await _update(conn, session.id, state="finished")
            items = list(
                await conn.execute(
                    sa.select(mock_items)
                    .where(mock_items.c.session_id == session.id)
                    .order_by(mock_items.c.position)
                )
            )
        return [Reply(scorecard(self.engine.bank, items, len(session.question_ids)))]


def scorecard(bank: Any, items: Sequence[sa.Row[Any]], planned: int) -> str:
    """Score per question, strengths, weak topics, what to study next, how to go again."""
    if not items:
        return "Mock interview stopped before any answer. `/drill mock` starts a new one."
    lines = [f"Mock interview scorecard ({len(items)} of {planned} question(s)):"]
    by_topic: dict[str, list[int]] = {}
    study: list[str] = []
    for number, item in enumerate(items, 1):
        question = bank.get(item.question_id)
        topic = question.topic if question else "?"
        if item.outcome == "skipped":
            lines.append(f"  {number}. [{topic}] {item.question_id}: skipped")
            by_topic.setdefault(topic, []).append(0)
        else:
            score = item.score if item.score is not None else "not graded yet"
            extra = (
                f", follow-up {item.follow_up_score}/10" if item.follow_up_score is not None else ""
            )
            hint = " (hint)" if item.hinted else ""
            lines.append(f"  {number}. [{topic}] {item.question_id}: {score}/10{extra}{hint}")
            if item.score is not None:
                by_topic.setdefault(topic, []).append(item.score)
        study += [m for m in item.missed if m not in study]
    means = {t: sum(s) / len(s) for t, s in by_topic.items()}
    if scored := [s for ss in by_topic.values() for s in ss]:
        average = sum(scored) / len(scored)
        lines.append(f"Average {average:.1f}/10 ({band(round(average))}).")
    strong = sorted(t for t, m in means.items() if m >= 7)
    weak = sorted(t for t, m in means.items() if m < 7)
    lines.append("Strengths: " + (", ".join(strong) or "none yet"))
    lines.append("Weak topics: " + (", ".join(weak) or "none"))
    if study:
        lines.append("Study next:")
        lines += [f"  - {point}" for point in study[:5]]
    lines.append(
        "The questions you found hard come back in `/drill practice` and later mocks; "
        "`/drill mock again` repeats this set now."
    )
    return "\n".join(lines)


def _ask(question: Question, number: int, total: int) -> str:
    return (
        f"Question {number}/{total} [{question.topic} · {question.difficulty}]\n"
        f"{render.question_text(question)}"
    )


async def _update(conn: AsyncConnection, session_id: int, **values: Any) -> None:
    await conn.execute(
        mock_sessions.update().where(mock_sessions.c.id == session_id).values(**values)
    )


async def _item(
    conn: AsyncConnection,
    session: Session,
    question: Question,
    score: int | None,
    missed: Sequence[KeyPoint],
) -> None:
    await conn.execute(
        mock_items.insert().values(
            session_id=session.id,
            position=session.position,
            question_id=question.id,
            outcome="answered",
            score=score,
            hinted=session.hinted,
            missed=[kp.text for kp in missed],
        )
    )
