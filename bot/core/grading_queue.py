"""Grading after storing: one task per answer, a concurrency limit, provisional fallbacks.

An answer is already committed when it reaches this queue, so nothing here can lose it. The
grader runs outside any transaction. When the primary grader fails (an LLM outage after its
own retries), the answer gets a **provisional** grade from the fallback grader, clearly
labelled, and stays in line for the primary grader: every tick retries a few, and when the
real grade lands the user is told if the score changed (DESIGN.md "Grades"). When even the
fallback fails, the answer stays `pending`, its attempts counted, and is retried by the tick.

Answer states: `pending` (no grade yet), `provisional` (fallback grade, primary still owed),
`graded` (final).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core import render
from bot.core.reviews import record_review
from bot.core.streaks import Points, Streak, fold_streak, points_for
from bot.core.types import ChannelRef
from bot.grading.base import Grade, Grader, GradeRequest
from bot.packs import KeyPoint, Question
from bot.store import queries as q
from bot.store.tables import answers, channels, grades

if TYPE_CHECKING:
    from bot.core.engine import Engine

_log = logging.getLogger(__name__)
RETRY_BATCH = 50
#: An answer row and its daily's, as just written by whoever submits it for grading.
Known = tuple[q.AnswerRow, q.DailyRow | None]
#: A failing grade is retried after 1, 2, 4 ... minutes, at most 6 hours apart, and given up
#: after 16 attempts (about 2.5 days): an answer left provisional keeps its labelled grade.
MAX_ATTEMPTS = 16
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class _Outcome:
    grade: Grade
    points: Points | None
    streak: Streak | None
    previous: int | None  # the provisional score this grade replaces, if any
    feedback_mode: str | None  # the channel's: private or thread


def grade_mcq(question: Question, letter: str) -> Grade:
    """MCQs need no grader: 10 or 0, and the explanation at once."""
    right = letter.upper() == (question.answer or "").upper()
    return Grade(
        score=10 if right else 0,
        grader="mcq",
        grader_version="1",
        feedback="Correct." if right else f"The answer is {question.answer}.",
    )


async def _points(
    conn: AsyncConnection, answer: q.AnswerRow, daily: q.DailyRow | None, score: int
) -> tuple[Points | None, Streak | None]:
    """Points of a counted daily answer, with the streak as of its day; None otherwise."""
    if answer.kind != "daily" or daily is None:
        return None, None
    days = await q.streak_days(
        conn,
        answer.workspace_id,
        answer.channel_id,
        answer.user_id,
        until=date.fromisoformat(daily.local_date),
    )
    streak = fold_streak(days)
    posted = daily.posted_at or daily.scheduled_at
    return points_for(score, answer.answered_at, posted, streak.current), streak


class GradingQueue:
    def __init__(
        self, engine: Engine, grader: Grader, fallback: Grader | None, concurrency: int
    ) -> None:
        self.engine = engine
        self.grader = grader
        self.fallback = fallback if fallback is not grader else None
        self._limit = asyncio.Semaphore(concurrency)
        self._running: dict[int, asyncio.Task[Any]] = {}

    def submit(self, answer_id: int, known: Known | None = None) -> None:
        """Grade a stored answer in the background (after any grading of it in flight).
        `known`: the answer and daily rows just written, which spares reading them back."""
        running = self._running.get(answer_id)
        if running is not None:
            running.add_done_callback(lambda _t: self.submit(answer_id))
            return
        task = asyncio.get_running_loop().create_task(self._grade(answer_id, known=known))
        self._running[answer_id] = task
        task.add_done_callback(lambda _t: self._running.pop(answer_id, None))

    async def retry(self) -> None:
        """Answers without a final grade: pending ones, then provisional ones."""
        async with self.engine.db.read() as conn:
            owed = await q.answers_owed_a_grade(
                conn, self.engine.clock.now(), MAX_ATTEMPTS, RETRY_BATCH
            )
        for answer_id in owed:
            if answer_id not in self._running:
                self.submit(answer_id)

    async def regrade(self, answer: q.AnswerRow) -> bool:
        """Grade an answer once more, on its owner's request; False if already used or an
        admin has overridden its score."""
        async with self.engine.db.write() as conn:
            done = await conn.execute(
                answers.update()
                .where(
                    answers.c.id == answer.id,
                    sa.not_(answers.c.regrade_used),
                    answers.c.override_by.is_(None),  # an admin's score is final
                )
                .values(regrade_used=True, status="pending")
            )
        if done.rowcount:
            self.submit(answer.id)
        return bool(done.rowcount)

    async def override(self, answer: q.AnswerRow, score: int, by: str) -> Points | None:
        """An admin's score replaces the grader's; points follow; who and when are kept."""
        async with self.engine.db.write() as conn:
            daily = (
                await q.get_daily(conn, answer.workspace_id, answer.daily_id)
                if answer.daily_id
                else None
            )
            points, _ = await _points(conn, answer, daily, score)
            await conn.execute(
                answers.update()
                .where(answers.c.id == answer.id)
                .values(
                    score=score,
                    points=points.total if points else None,
                    status="graded",
                    override_by=by,
                    override_at=self.engine.clock.now(),
                )
            )
            await conn.execute(
                grades.update().where(grades.c.answer_id == answer.id).values(score=score)
            )
        return points

    async def drain(self) -> None:
        """Wait for every grading in flight (tests, the console, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def grade_now(self, answer_id: int) -> _Outcome | None:
        """Grade at once and return the outcome instead of telling the user (mock interviews
        need the score to decide what comes next). None when grading failed: the answer stays
        stored and the tick retries it. Registered like a queued grading, so a tick never
        grades the same answer alongside."""
        task = asyncio.ensure_future(self._grade(answer_id, tell=False))
        self._running[answer_id] = task
        try:
            return await task
        finally:
            self._running.pop(answer_id, None)

    async def _grade(
        self, answer_id: int, *, tell: bool = True, known: Known | None = None
    ) -> _Outcome | None:
        """Grade one stored answer the way it asks to be graded (its narrowed rubric and score
        cap are stored with it, so a retry or re-grade grades it the same way)."""
        if known is not None:
            answer, daily = known
        else:
            async with self.engine.db.read() as conn:
                answer = await q.get_answer(conn, answer_id)
                daily = (
                    await q.get_daily(conn, answer.workspace_id, answer.daily_id)
                    if answer and answer.daily_id
                    else None
                )
        if answer is None or answer.status == "graded":
            return None
        question = self.engine.bank.get(answer.question_id)
        if question is None:
            _log.error("answer %s refers to unknown question %s", answer.id, answer.question_id)
            return None
        rubric = tuple(kp for kp in question.key_points if kp.text in (answer.rubric or ()))
        grade = await self._run(question, answer, rubric)
        if grade is None:
            return None
        update: dict[str, object] = {"graded_at": self.engine.clock.now()}
        if answer.grade_cap is not None and grade.score > answer.grade_cap:
            update["score"] = answer.grade_cap
        outcome = await self._store(answer, daily, grade.model_copy(update=update))
        if outcome is not None and tell:
            await self._tell(answer, daily, question, outcome)
        return outcome

    async def _run(
        self, question: Question, answer: q.AnswerRow, key_points: tuple[KeyPoint, ...]
    ) -> Grade | None:
        if question.type == "mcq":
            return grade_mcq(question, answer.text)
        request = GradeRequest(question=question, answer=answer.text, key_points=key_points)
        try:
            async with self._limit:
                return await self.grader.grade(request)
        except Exception as exc:
            _log.warning("grader %s failed on answer %s: %r", self.grader.name, answer.id, exc)
        await self._failed(answer)
        if self.fallback is not None and answer.status == "pending":
            try:
                grade = await self.fallback.grade(request)
                return grade.model_copy(update={"provisional": True})
            except Exception:
                _log.exception("fallback grader failed on answer %s", answer.id)
        return None

    async def _failed(self, answer: q.AnswerRow) -> None:
        """Count a failed grading and push the next try out (exponential backoff)."""
        async with self.engine.db.write() as conn:
            await conn.execute(
                answers.update()
                .where(answers.c.id == answer.id)
                .values(
                    attempts=answer.attempts + 1,
                    retry_at=self.engine.clock.now() + backoff(answer.attempts + 1),
                )
            )

    async def _store(
        self, answer: q.AnswerRow, daily: q.DailyRow | None, grade: Grade
    ) -> _Outcome | None:
        """Save the grade and the points it earns, unless the answer changed meanwhile."""
        async with self.engine.db.write() as conn:
            points, streak = await _points(conn, answer, daily, grade.score)
            status = "provisional" if grade.provisional else "graded"
            if not await q.save_grade(
                conn,
                answer,
                grade.model_dump(mode="json"),
                points.total if points else None,
                status,
                grade.graded_at or self.engine.clock.now(),
            ):
                return None  # forgotten, edited or regraded meanwhile: that grading stores its own
            if status == "graded":
                await record_review(
                    conn,
                    answer.workspace_id,
                    answer.user_id,
                    answer.question_id,
                    grade.score,
                    self.engine.clock.now(),
                )
            mode = await conn.scalar(
                sa.select(channels.c.feedback).where(
                    channels.c.workspace_id == answer.workspace_id,
                    channels.c.id == answer.channel_id,
                )
            )
        previous = answer.score if answer.status == "provisional" else None
        return _Outcome(grade, points, streak, previous, mode)

    async def _tell(
        self, answer: q.AnswerRow, daily: q.DailyRow | None, question: Question, outcome: _Outcome
    ) -> None:
        """Feedback per the channel's mode; a final grade replacing a provisional one is only
        announced when the score changed."""
        grade = outcome.grade
        if outcome.previous is not None:
            if outcome.previous == grade.score:
                return
            text = (
                f"Your provisional score {outcome.previous}/10 for `{question.id}` is now "
                f"{grade.score}/10 ({grade.band}) from the {grade.grader} grader."
            )
        else:
            text = render.feedback_text(
                question, grade, outcome.points, outcome.streak, late=answer.kind == "late"
            )
        ref = ChannelRef(answer.workspace_id, answer.channel_id)
        mode = outcome.feedback_mode
        thread = daily.message_id if daily else None
        try:
            adapter = await self.engine.adapter_for(answer.workspace_id)
            if answer.message_id:
                await adapter.add_reaction(ref, answer.message_id, grade.band, thread)
            if mode == "thread" and thread and answer.kind == "daily" and answer.source == "thread":
                await adapter.reply_in_thread(ref, thread, text)
            else:
                await adapter.send_private(ref, answer.user_id, text, thread)
        except Exception:
            _log.exception("feedback for answer %s could not be delivered", answer.id)
