"""Practice on one's own: `/drill practice` asks a question in DM, a plain line answers it.

Which question comes next is the domain's planner (due reviews first, then the weakest
topic); this service reads the user's record for it and keeps the one waiting question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain import render
from bot.domain.planner import FRESH_FOR, Record, plan_questions, topic_mastery
from bot.domain.types import Actor, ChannelRef, Reply, Stored
from bot.packs import Bank, Question
from bot.services.intake import Intake, Submission
from bot.services.quota import Quota
from bot.store.answers import Answers
from bot.store.reviews import Reviews
from bot.store.sessions import Sessions

#: A practice question left unanswered for a day stops capturing plain lines.
PRACTICE_TTL = timedelta(days=1)


@dataclass(eq=False, kw_only=True)
class Planner:
    """The planner fed with a user's record from the store."""

    reviews: Reviews
    answers: Answers
    bank: Bank

    async def plan(
        self,
        actor: Actor,
        now: datetime,
        count: int,
        topic: str | None = None,
        difficulty: str | None = None,
        open_only: bool = True,
    ) -> list[Question]:
        record = Record(
            due=await self.due(actor, now),
            recent=await self.answers.answered_questions(
                actor.workspace_id, actor.user_id, now - FRESH_FOR
            ),
            scores=await self.reviews.latest_scores(actor.workspace_id, actor.user_id),
        )
        return plan_questions(
            self.bank,
            record,
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            now=now,
            count=count,
            topic=topic,
            difficulty=difficulty,
            open_only=open_only,
        )

    async def due(self, actor: Actor, now: datetime) -> list[str]:
        """Questions whose review is due, of those still in the bank: a card of a removed
        question stays (history, export) but is never due."""
        due = await self.reviews.due(actor.workspace_id, actor.user_id, now)
        return [question_id for question_id in due if self.bank.get(question_id) is not None]

    async def mastery(self, actor: Actor) -> dict[str, tuple[float, int]]:
        scores = await self.reviews.latest_scores(actor.workspace_id, actor.user_id)
        return topic_mastery(self.bank, scores)


@dataclass(eq=False, kw_only=True)
class Practice:
    sessions: Sessions
    planner: Planner
    bank: Bank
    clock: Clock
    quota: Quota
    intake: Intake

    async def start(self, actor: Actor, channel: ChannelRef, topic: str | None) -> list[Reply]:
        """Due reviews first, then a new question from the user's weakest topic."""
        if over := await self.quota.over(actor):
            return self.quota.refusal(over)
        planned = await self.planner.plan(
            actor, self.clock.now(), count=1, topic=topic, open_only=False
        )
        if not planned:
            return [Reply("No question fits; try another topic.")]
        question = planned[0]
        await self.sessions.start_practice(
            actor.workspace_id, actor.user_id, channel.channel_id, question.id, self.clock.now()
        )
        return [
            Reply(
                f"Practice [{question.topic} · {question.difficulty}]\n"
                f"{render.question_text(question)}\n"
                f"{render.how_to_answer(question, console=True)}"
            )
        ]

    async def route(
        self, *, event_key: str, actor: Actor, text: str, on_stored: Stored | None = None
    ) -> list[Reply] | None:
        """Answer the user's waiting practice question with a plain line; None when no
        question waits."""
        waiting = await self.sessions.waiting_practice(
            actor.workspace_id, actor.user_id, self.clock.now() - PRACTICE_TTL
        )
        if waiting is None:
            return None
        question = self.bank.get(waiting.question_id)
        if question is None:
            return [Reply("That practice question is no longer in the bank.")]
        taken = await self.intake.take(
            Submission(
                kind="practice",
                event_key=event_key,
                actor=actor,
                question=question,
                text=text,
                channel_id=waiting.channel_id,
                on_stored=on_stored,
            )
        )
        return taken.replies
