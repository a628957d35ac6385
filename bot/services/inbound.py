"""The core's one way in: `Gateway` implements `bot.ports.Inbound` over the services.

It holds no rules of its own; it routes each platform event to the service whose use case it
is (a thread message to intake, a plain line to the user's mock session, else their practice
question, else the channel's open daily).

Every event that can carry a user's words (`answering`) is answered whatever fails: a refused
store says the answer was not saved, any other failure says what failed and whether the
answer was already kept, so the user never meets silence and never has to guess.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from bot.clock import Clock
from bot.domain.answers import Kind
from bot.domain.standing import Home
from bot.domain.text import clean_text
from bot.domain.types import Actor, ChannelRef, Reply, Stored
from bot.errors import AnswerNotSaved
from bot.packs import Bank, Question
from bot.services.commands import Commands
from bot.services.dashboard import Dashboard
from bot.services.grading import GradingQueue
from bot.services.intake import Intake, Submission, answer_stored
from bot.services.mock import MockInterviews
from bot.services.practice import Practice
from bot.services.selfcheck import SelfCheck
from bot.services.tenants import DEFAULT_CRON, Tenants
from bot.store.dailies import Dailies
from bot.store.db import is_storage_error, storage_trouble
from bot.store.rows import DailyRow
from bot.store.tenancy import Tenancy

_log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[list[Reply]]])


def not_saved(trouble: str) -> str:
    return f"That failed: {trouble}, so your answer was NOT saved. Please send it again later."


def failed(exc: Exception, stored: bool) -> str:
    """What a user is told when handling their message failed, true to what was kept."""
    trouble = storage_trouble(exc) if is_storage_error(exc) else "an error on drillbot's side"
    if stored:
        return f"That failed: {trouble}. Nothing was lost: your answer is stored and is graded."
    return (
        f"That failed: {trouble}. Nothing was lost: nothing of this message was stored, so "
        "you can send it again."
    )


def answering(handler: Handler) -> Handler:
    """Run an inbound handler so that it always answers: names and texts arrive without
    control characters, and a failure becomes a reply (logged with ids, never texts)."""

    @functools.wraps(handler)
    async def guarded(self: Gateway, **kwargs: Any) -> list[Reply]:
        actor: Actor = kwargs["actor"]
        kwargs["actor"] = dataclasses.replace(actor, name=clean_text(actor.name))
        token = answer_stored.set(False)
        try:
            return await handler(self, **kwargs)
        except AnswerNotSaved as exc:
            if kwargs.get("on_stored") is not None:
                # The platform delivers it again unless acknowledged: the adapter withholds
                # the acknowledgement (docs/design.md, lifecycle step 4), so nothing is lost.
                raise
            return [Reply(not_saved(exc.trouble))]
        except Exception as exc:
            _log.exception(
                "%s failed (event %s, user %s)",
                handler.__name__,
                kwargs.get("event_key"),
                actor.user_id,
            )
            return [Reply(failed(exc, answer_stored.get()))]
        finally:
            answer_stored.reset(token)

    return cast(Handler, guarded)


NO_OPEN_DAILY = (
    "No question is open right now. Try `/drill practice`, or `/drill post-now` if you are "
    "an admin."
)


@dataclass(eq=False, kw_only=True)
class Gateway:
    bank: Bank
    clock: Clock
    tenancy: Tenancy
    dailies: Dailies
    tenants: Tenants
    intake: Intake
    practice: Practice
    mock: MockInterviews
    commands: Commands
    dashboard: Dashboard
    grading: GradingQueue
    selfcheck: SelfCheck

    def now(self) -> datetime:
        return self.clock.now()

    def is_admin(self, actor: Actor) -> bool:
        return self.tenants.is_admin(actor)

    def topics(self) -> Sequence[str]:
        return list(self.bank.topics)

    async def ensure_workspace(
        self, workspace_id: str, platform: str, name: str = "", timezone: str | None = None
    ) -> None:
        await self.tenants.ensure_workspace(workspace_id, platform, name, timezone)

    async def set_workspace_active(self, workspace_id: str, active: bool) -> None:
        await self.tenants.set_workspace_active(workspace_id, active)

    async def ensure_channel(
        self,
        channel: ChannelRef,
        name: str = "",
        cron: str | None = DEFAULT_CRON,
        timezone: str | None = None,
    ) -> None:
        await self.tenants.ensure_channel(channel, name, cron, timezone)

    @answering
    async def command(
        self, *, event_key: str, actor: Actor, channel: ChannelRef, text: str
    ) -> list[Reply]:
        return await self.commands.handle(
            event_key=event_key, actor=actor, channel=channel, text=text
        )

    # -- answers ----------------------------------------------------------------------------

    @answering
    async def on_thread_message(
        self,
        *,
        event_key: str,
        actor: Actor,
        channel: ChannelRef,
        thread_id: str,
        text: str,
        message_id: str | None = None,
        edited: bool = False,
        sent_at: datetime | None = None,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        """`sent_at` is when the platform says it was sent (a retry or a replay after a
        reconnect arrives later than that); `on_stored`: see `bot.ports.Inbound`."""
        daily = await self.dailies.by_message(channel.workspace_id, thread_id)
        if daily is None or daily.channel_id != channel.channel_id:
            return []
        return await self._daily_answer(
            daily,
            "edit" if edited else "thread",
            event_key=event_key,
            actor=actor,
            text=text,
            message_id=message_id,
            sent_at=sent_at,
            on_stored=on_stored,
        )

    @answering
    async def on_private_answer(
        self,
        *,
        event_key: str,
        actor: Actor,
        daily_id: int,
        text: str,
        choice: bool = False,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        """The Answer privately form (a new form answer replaces the earlier one while the
        daily is open) or a click on an MCQ choice button (the first click counts)."""
        daily = await self.dailies.get(actor.workspace_id, daily_id)
        if daily is None:
            return [Reply("That question no longer exists.")]
        return await self._daily_answer(
            daily,
            "choice" if choice else "form",
            event_key=event_key,
            actor=actor,
            text=text,
            on_stored=on_stored,
        )

    @answering
    async def on_loose_message(
        self,
        *,
        event_key: str,
        actor: Actor,
        channel: ChannelRef,
        text: str,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        """A plain line goes to the user's active mock interview, else answers their waiting
        practice question, else the channel's most recent open daily."""
        in_session = await self.mock.route(
            event_key=event_key, actor=actor, text=text, on_stored=on_stored
        )
        if in_session is not None:
            return in_session
        practised = await self.practice.route(
            event_key=event_key, actor=actor, text=text, on_stored=on_stored
        )
        if practised is not None:
            return practised
        now = self.clock.now()
        current = [
            d
            for d in await self.dailies.posted_in(channel.workspace_id, channel.channel_id)
            if d.is_open(now)
        ]
        if not current:
            return [Reply(NO_OPEN_DAILY)]
        return await self._daily_answer(
            current[-1], "line", event_key=event_key, actor=actor, text=text, on_stored=on_stored
        )

    async def _daily_answer(
        self,
        daily: DailyRow,
        kind: Kind,
        *,
        event_key: str,
        actor: Actor,
        text: str,
        message_id: str | None = None,
        sent_at: datetime | None = None,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        question = self.bank.get(daily.question_id)
        if question is None:
            return []
        taken = await self.intake.take(
            Submission(
                kind=kind,
                event_key=event_key,
                actor=actor,
                question=question,
                text=text,
                daily=daily,
                message_id=message_id,
                sent_at=sent_at,
                on_stored=on_stored,
            )
        )
        return taken.replies

    async def on_self_check(
        self, *, event_key: str, actor: Actor, answer_id: int, covered: Sequence[int]
    ) -> list[Reply]:
        """A platform's key point checkboxes or select: `covered` is the whole state (so a
        redelivery changes nothing); the self-check replies with the new score."""
        return await self.selfcheck.check(actor, answer_id, covered=covered)

    # -- lookups ----------------------------------------------------------------------------

    async def daily_question(self, workspace_id: str, daily_id: int) -> Question | None:
        daily = await self.dailies.get(workspace_id, daily_id)
        return self.bank.get(daily.question_id) if daily else None

    async def recent_threads(self, workspace_ids: Sequence[str], since: datetime) -> list[str]:
        return [
            d.message_id
            for d in await self.dailies.recent_threads(workspace_ids, since)
            if d.message_id is not None
        ]

    async def first_time(self, workspace_id: str, key: str) -> bool:
        """True when this reply was not sent before; also True when the database cannot
        record it (full, read-only): a reply possibly sent twice beats a user left with
        nothing, as when their answer could not be saved."""
        try:
            return await self.tenancy.first_time(workspace_id, key, self.clock.now())
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            _log.warning("reply %s not recorded (%s); sent anyway", key, type(exc).__name__)
            return True

    async def home(self, workspace_id: str, user_id: str) -> Home:
        return await self.dashboard.home(workspace_id, user_id)

    async def drain(self) -> None:
        await self.grading.drain()
