"""Self-check of practice and mock grades (docs/design.md "Grades", Self-check).

The learner flips the grader's marks by key point number; the learner's marks and the score
they give are stored beside the grade, which stays as the grader gave it (evaluation, boards
and points read the grader's). The question's review card is re-reviewed from its state before
that answer, at the time of that review, with the learner's score, so the schedule follows the
learner's judgement as if the grade had been theirs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain import selfcheck
from bot.domain.reviews import next_card
from bot.domain.rubric import stored_rubric
from bot.domain.selfcheck import CheckView
from bot.domain.types import Actor, Reply
from bot.grading.base import band
from bot.packs import Bank
from bot.store.answers import Answers
from bot.store.selfchecks import Replay, SelfChecks

NO_ANSWER = "No such answer of yours; `/drill history` lists them with numbers."


@dataclass(eq=False, kw_only=True)
class SelfCheck:
    answers: Answers
    checks: SelfChecks
    bank: Bank
    clock: Clock

    async def check(
        self,
        actor: Actor,
        answer_id: int | None,
        *,
        flips: Collection[int] = (),
        covered: Collection[int] | None = None,
    ) -> list[Reply]:
        """Flip the numbered key points (`flips`, a command) or make exactly `covered` the
        covered ones (a platform's checkboxes or select, which send the whole state) of the
        given answer, else the user's latest; with neither, show the marks."""
        answer = (
            await self.answers.get(answer_id, actor.workspace_id)
            if answer_id is not None
            else await self.answers.latest(actor.workspace_id, actor.user_id)
        )
        if answer is None or answer.user_id != actor.user_id:
            return [Reply(NO_ANSWER)]
        rubric = stored_rubric(answer.rubric, self.bank.get(answer.question_id))
        found = await self.checks.checkable(answer.id)
        now = self.clock.now()
        refused = selfcheck.refusal(
            kind=answer.kind,
            status=answer.status,
            overridden=answer.override_by is not None,
            # floored at intake (never graded), or by a grader's own floors
            floored=answer.floor is not None or bool(found and found.detail.get("floored")),
            mcq=rubric is not None and rubric.question.type == "mcq",
            graded_at=found.graded_at if found else None,
            now=now,
        )
        if refused is None and (rubric is None or not rubric.key_points):
            refused = "This answer kept no key points to check."
        if refused is not None or rubric is None or found is None:
            return [Reply(f"Answer #{answer.id}: {refused}")]
        marks = selfcheck.with_learner(
            selfcheck.grader_marks(rubric, found.detail), found.marks or []
        )
        if covered is not None:
            flips = selfcheck.toggles_to(marks, covered)
        if not flips and covered is None:
            return [self._shown(answer.id, answer.question_id, marks, None, answer.score)]
        try:
            marks = selfcheck.flip(marks, flips)
        except ValueError as exc:
            return [Reply(f"Answer #{answer.id}: {exc}.")]
        score = selfcheck.learner_score(
            marks,
            len(found.detail.get("misconceptions") or []),
            bool(found.detail.get("flagged")),
            answer.grade_cap,
        )
        replay = None
        if found.card_before is not None and found.reviewed_at is not None:
            card, due = next_card(found.card_before.get("card"), score, found.reviewed_at)
            replay = Replay(card, due, score)
        await self.checks.save(
            answer_id=answer.id,
            workspace_id=answer.workspace_id,
            user_id=answer.user_id,
            question_id=answer.question_id,
            marks=[m.as_json() for m in marks],
            score=score,
            grader_score=answer.score if answer.score is not None else found.detail["score"],
            now=now,
            replay=replay,
        )
        return [self._shown(answer.id, answer.question_id, marks, score, answer.score)]

    @staticmethod
    def _shown(
        answer_id: int,
        question_id: str,
        marks: tuple[selfcheck.Mark, ...],
        score: int | None,
        graded: int | None,
    ) -> Reply:
        if score is None:
            head = f"Answer #{answer_id} (`{question_id}`), graded {graded}/10. Its key points:"
        else:
            head = (
                f"Self-checked answer #{answer_id} (`{question_id}`): {score}/10 ({band(score)}) "
                f"by your marks; the grader's {graded}/10 stays on record. Your reviews follow "
                "your marks."
            )
        lines = [head, *selfcheck.marks_text(marks), selfcheck.HOW]
        return Reply("\n".join(lines), check=CheckView(answer_id, marks))
