"""Grading after storing: one task per answer, a concurrency limit, provisional fallbacks.

An answer is already committed when it reaches this queue, so nothing here can lose it. The
grader runs outside any transaction. When the primary grader fails (an LLM outage after its
own retries), the answer gets a **provisional** grade from the fallback grader, clearly
labelled, and stays in line for the primary grader: every tick retries a few, and when the
real grade lands the user is told if the score changed (docs/design.md "Grades"). When even
the fallback fails, the answer stays `pending`, its attempts counted, and is retried by the
tick. Grades of concurrent answers are stored together (`Answers.save_grade` group-commits).

Answer states: `pending` (no grade yet), `provisional` (fallback grade, primary still owed),
`graded` (final), `void` (its question left the bank and no rubric was kept with it: it can
never be graded; only rows older than stored rubrics can end there).

Two profiles behind this one queue. SQLite (one process): the in-process queue above, retries
read from the database by the tick. PostgreSQL (`jobs` set: several processes): every grading
first takes the answer's lease (`bot.store.jobs`), so one process at a time grades it; the tick
(and every grading that finishes while a backlog is known) claims due jobs up to this process's
free capacity, including those whose process died; the feedback intent is written with the
grade, so only the process whose grade was stored sends it, at most once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.domain import render, selfcheck
from bot.domain.costs import Charge
from bot.domain.rubric import Rubric, stored_rubric
from bot.domain.selfcheck import offer
from bot.domain.streaks import Points
from bot.domain.types import ChannelRef
from bot.grading.base import Grade, Grader, GradeRequest
from bot.grading.breaker import CircuitOpen
from bot.packs import Bank, Question
from bot.services.platforms import Platforms
from bot.store.answers import FRESH_GRACE, Answers, Graded, NewGrade, Regrade
from bot.store.dailies import Dailies
from bot.store.jobs import GradingJobs
from bot.store.rows import AnswerRow, DailyRow

_log = logging.getLogger(__name__)
RETRY_BATCH = 50
#: An answer row and its daily's, as just written by whoever submits it for grading.
Known = tuple[AnswerRow, DailyRow | None]
#: A failing grade is retried after 1, 2, 4 ... minutes, at most 6 hours apart, and given up
#: after 16 attempts (about 2.5 days): an answer left provisional keeps its labelled grade.
MAX_ATTEMPTS = 16
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Outcome:
    grade: Grade
    graded: Graded
    previous: int | None  # the provisional score this grade replaces, if any


def grade_mcq(question: Question, letter: str) -> Grade:
    """MCQs need no grader: 10 or 0, and the explanation at once."""
    right = letter.upper() == (question.answer or "").upper()
    return Grade(
        score=10 if right else 0,
        grader="mcq",
        grader_version="1",
        feedback="Correct." if right else f"The answer is {question.answer}.",
    )


class GradingQueue:
    def __init__(
        self,
        *,
        answers: Answers,
        dailies: Dailies,
        bank: Bank,
        clock: Clock,
        platforms: Platforms,
        grader: Grader,
        fallback: Grader | None,
        concurrency: int,
        jobs: GradingJobs | None = None,
    ) -> None:
        self.answers = answers
        self.dailies = dailies
        self.bank = bank
        self.clock = clock
        self.platforms = platforms
        self.grader = grader
        self.fallback = fallback if fallback is not grader else None
        self.concurrency = concurrency
        self.jobs = jobs
        self._limit = asyncio.Semaphore(concurrency)
        self._running: dict[int, asyncio.Task[Any]] = {}
        self._backlog = False
        self._claiming = False
        #: Answers stored before this process started are graded by no one here: a process
        #: killed after acknowledging them left them pending (docs/design.md, lifecycle 4).
        self.started_at = clock.now()

    def submit(self, answer_id: int, known: Known | None = None) -> None:
        """Grade a stored answer in the background (after any grading of it in flight).
        `known`: the answer and daily rows just written, which spares reading them back."""
        running = self._running.get(answer_id)
        if running is not None:
            running.add_done_callback(lambda _t: self.submit(answer_id))
            return
        task = asyncio.get_running_loop().create_task(self._grade(answer_id, known=known))
        self._running[answer_id] = task
        task.add_done_callback(lambda _t: self._finished(answer_id))

    def _finished(self, answer_id: int) -> None:
        self._running.pop(answer_id, None)
        if self._backlog and not self._claiming and self.jobs is not None:
            asyncio.get_running_loop().create_task(self._refill())

    async def _refill(self) -> None:
        """A grading finished while due jobs were left: claim more now, not at the next tick."""
        try:
            await self.retry()
        except Exception:
            _log.exception("claiming grading jobs failed; the next tick tries again")

    async def retry(self) -> None:
        """Answers without a final grade: pending ones, then provisional ones. One process
        (no `jobs`): one never tried is left to whoever stored it for a grace period, unless it
        was stored before this process started (then its grading died with an earlier
        process). With leased jobs, as many due jobs as this process has free capacity for are
        claimed (an untried answer's storer holds its lease while grading it)."""
        if self.jobs is None:
            now = self.clock.now()
            untried_before = max(now - FRESH_GRACE, self.started_at)
            owed = await self.answers.owed_a_grade(now, MAX_ATTEMPTS, RETRY_BATCH, untried_before)
            for answer_id in owed:
                if answer_id not in self._running:
                    self.submit(answer_id)
            return
        if self._claiming:
            return
        self._claiming = True
        try:
            free = min(RETRY_BATCH, self.concurrency - len(self._running))
            claimed = await self.jobs.claim(self.clock.now(), MAX_ATTEMPTS, free)
            self._backlog = free > 0 and len(claimed) == free
            for answer in claimed:
                if answer.id not in self._running:
                    self.submit(answer.id)  # read again with its stored rubric
        finally:
            self._claiming = False

    async def regrade(self, answer: AnswerRow, charge: Charge) -> Regrade:
        """Grade an answer once more, on its owner's request, for one unit of their budget:
        `used` if already used, an admin has overridden its score or it is floored; `Over`
        (nothing done) when the budget is spent."""
        done = await self.answers.use_regrade(answer.id, charge)
        if done == "regrading":
            self.submit(answer.id)
        return done

    async def override(self, answer: AnswerRow, score: int, by: str) -> Points | None:
        """An admin's score replaces the grader's; points follow; who and when are kept."""
        daily = (
            await self.dailies.get(answer.workspace_id, answer.daily_id)
            if answer.daily_id
            else None
        )
        return await self.answers.override(answer, daily, score, by, self.clock.now())

    async def drain(self) -> None:
        """Wait for every grading in flight (tests, the console, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def grade_now(self, answer: AnswerRow) -> Outcome | None:
        """Grade at once and return the outcome instead of telling the user (mock interviews
        need the score to decide what comes next). None when grading failed: the answer stays
        stored and the tick retries it. Registered like a queued grading, so a tick never
        grades the same answer alongside."""
        task = asyncio.ensure_future(self._grade(answer.id, tell=False, known=(answer, None)))
        self._running[answer.id] = task
        try:
            return await task
        finally:
            self._running.pop(answer.id, None)

    async def _grade(
        self,
        answer_id: int,
        *,
        tell: bool = True,
        known: Known | None = None,
    ) -> Outcome | None:
        """Grade one stored answer the way it asks to be graded: against the rubric stored with
        it (never today's bank) and under its score cap, so a retry, a re-grade or the final
        grade after a provisional one grades it the same way. With leased jobs, the answer's
        lease is taken when its grading starts (`_run`): held elsewhere, it is left to its
        holder."""
        daily = known[1] if known is not None else None
        found: AnswerRow | None = known[0] if known is not None else None
        if found is None:
            found = await self.answers.get(answer_id)
        if found is None:
            return None
        answer = found
        if daily is None and answer.daily_id:
            daily = await self.dailies.get(answer.workspace_id, answer.daily_id)
        if answer.status in ("graded", "floored", "void"):
            return None  # graded, floored (never graded) or void
        rubric = stored_rubric(answer.rubric, self.bank.get(answer.question_id))
        if rubric is None:
            await self._void(answer)
            return None
        grade = await self._run(rubric, answer)
        if grade is None:
            return None
        now = self.clock.now()
        update: dict[str, object] = {"graded_at": now}
        if answer.grade_cap is not None and grade.score > answer.grade_cap:
            update["score"] = answer.grade_cap
        grade = grade.model_copy(update=update)
        graded = await self.answers.save_grade(
            NewGrade(
                answer,
                daily,
                grade.model_dump(mode="json"),
                "provisional" if grade.provisional else "graded",
                grade.graded_at or now,
                feedback=tell,
            )
        )
        if graded is None:
            if self.jobs is not None:
                await self.jobs.release(answer.id)
            return None  # forgotten, edited or regraded meanwhile: that grading stores its own
        previous = answer.score if answer.status == "provisional" else None
        outcome = Outcome(grade, graded, previous)
        if tell:
            await self._tell(answer, daily, rubric, outcome)
        return outcome

    async def _void(self, answer: AnswerRow) -> None:
        """An answer kept no rubric and its question left the bank: it can never be graded.
        It stays in history (not graded), leaves the retry queue, and its owner is told."""
        _log.warning("answer %s: question %s gone, no rubric kept", answer.id, answer.question_id)
        if not await self.answers.void(answer.id):
            return
        try:
            adapter = await self.platforms.adapter_for(answer.workspace_id)
            await adapter.send_private(
                ChannelRef(answer.workspace_id, answer.channel_id),
                answer.user_id,
                f"Your answer #{answer.id} to `{answer.question_id}` cannot be graded: that "
                "question was removed from the bank before it was graded. It stays in your "
                "history.",
            )
        except Exception:
            _log.exception("could not tell the owner of answer %s", answer.id)

    async def _run(self, rubric: Rubric, answer: AnswerRow) -> Grade | None:
        question = rubric.question
        if question.type == "mcq":
            return grade_mcq(question, answer.text)
        request = GradeRequest(question=question, answer=answer.text, key_points=rubric.key_points)
        try:
            async with self._limit:
                if not await self._hold(answer.id):
                    return None  # another process holds this grading job now
                return await self.grader.grade(request)
        except CircuitOpen:
            # No request was made, so no attempt is counted and no backoff added: the answer
            # is tried again on the next tick, and graded soon after the endpoint is back.
            pass
        except Exception as exc:
            _log.warning("grader %s failed on answer %s: %r", self.grader.name, answer.id, exc)
            await self.answers.failed(answer, self.clock.now() + backoff(answer.attempts + 1))
        if self.fallback is not None and answer.status == "pending":
            try:
                grade = await self.fallback.grade(request)
                return grade.model_copy(update={"provisional": True})
            except Exception:
                _log.exception("fallback grader failed on answer %s", answer.id)
        return None

    async def _hold(self, answer_id: int) -> bool:
        """Take (or renew) the job's lease as its grading starts, so an answer waiting for
        capacity here stays free for another process to claim, and a job another process took
        over meanwhile is not graded twice."""
        if self.jobs is None:
            return True
        return await self.jobs.take(answer_id, self.clock.now()) is not None

    async def _tell(
        self, answer: AnswerRow, daily: DailyRow | None, rubric: Rubric, outcome: Outcome
    ) -> None:
        """Feedback per the channel's mode; a final grade replacing a provisional one is only
        announced when the score changed. A practice grade comes with its key points to
        self-check."""
        grade = outcome.grade
        question = rubric.question
        check = offer(answer.id, answer.kind, rubric, grade)
        if outcome.previous is not None:
            if outcome.previous == grade.score:
                return
            text = (
                f"Your provisional score {outcome.previous}/10 for `{question.id}` is now "
                f"{grade.score}/10 ({grade.band}) from the {grade.grader} grader."
            )
            if check is not None:
                text += "\n" + "\n".join(selfcheck.marks_text(check.marks)) + "\n" + selfcheck.HOW
        else:
            text = render.feedback_text(
                question,
                grade,
                outcome.graded.points,
                outcome.graded.streak,
                late=answer.kind == "late",
                check=check,
            )
        ref = ChannelRef(answer.workspace_id, answer.channel_id)
        mode = outcome.graded.feedback_mode
        thread = daily.message_id if daily else None
        try:
            adapter = await self.platforms.adapter_for(answer.workspace_id)
            if answer.message_id:
                await adapter.add_reaction(ref, answer.message_id, grade.band, thread)
            if mode == "thread" and thread and answer.kind == "daily" and answer.source == "thread":
                await adapter.reply_in_thread(ref, thread, text)
            else:
                await adapter.send_private(ref, answer.user_id, text, thread, check=check)
        except Exception:
            _log.exception("feedback for answer %s could not be delivered", answer.id)
