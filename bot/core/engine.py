"""The engine: the daily lifecycle, answers and grading, with no platform in sight.

Adapters call `on_*` methods with platform-free values and get `Reply` lists back; the engine
calls adapters (through `bot.core.ports.Adapter`) only to post, reveal and give feedback.

Correctness lives in the database, not in memory: a post is reserved under (workspace,
channel, local date, slot) before it is sent and confirmed after (a send lease keeps two
senders apart); every inbound event is recorded under its idempotency key before it takes
effect, in the same transaction for answers; an answer is stored before it is graded, outside
any transaction (`bot.core.grading_queue`), and a failed grading is retried by the tick.
Streaks and points derive from stored answers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.core import render
from bot.core.coach import Coach, OfflineCoach
from bot.core.grading_queue import GradingQueue
from bot.core.mock import MockInterviews
from bot.core.picker import pick_question
from bot.core.ports import Adapter, ChannelUnavailable
from bot.core.streaks import Streak, fold_streak
from bot.core.types import Actor, ChannelRef, DailyPost, Reply, Reveal, TopAnswer
from bot.cronspec import CronSpec, Slot, next_slot_after, slots_between
from bot.grading.base import Grader
from bot.packs import Bank, Question
from bot.store import queries as q
from bot.store.db import Database
from bot.store.group import GroupWriter
from bot.store.tables import (
    answers,
    channels,
    dailies,
    events,
    notices,
    practice,
    users,
    workspaces,
)

_log = logging.getLogger(__name__)

DEFAULT_CRON = "0 9 * * MON-FRI"
DEFAULT_WINDOW = timedelta(hours=24)
TOP_ANSWERS = 3
#: Only answers graded "good" or better are shown as the day's best: a 0/10 "no idea" is
#: nobody's model to learn from.
TOP_ANSWER_MIN = 7
MAX_ANSWER_CHARS = 4000
EVENT_TTL = timedelta(days=7)
POST_CONCURRENCY = 64
#: A reserved daily whose send started this long ago without a confirmation is sent again
#: (after looking for it on the platform).
SEND_LEASE = timedelta(minutes=2)
REVEAL_RETRY = timedelta(days=1)
PRACTICE_TTL = timedelta(days=1)
#: A platform's own send time is trusted this far back (retries, a replay after a reconnect).
MAX_DELIVERY_DELAY = timedelta(hours=6)
#: How far back a channel's questions are read to keep the 30-day no-repeat rule.
NO_REPEAT_LOOKBACK = timedelta(days=31)
RECEIVED = "Got your answer; it stays private until the reveal."
ALREADY_ANSWERED = "You have already answered this question; your first answer counts."


@dataclass(frozen=True)
class EngineConfig:
    default_timezone: str = "UTC"
    catchup: timedelta = timedelta(hours=3)
    admins: frozenset[str] = frozenset()
    grading_concurrency: int = 8
    #: Cost guard: graded practice/mock answers per user per rolling 24 hours.
    practice_limit: int = 30


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        bank: Bank,
        grader: Grader,
        clock: Clock,
        fallback: Grader | None = None,
        coach: Coach | None = None,
        config: EngineConfig | None = None,
    ) -> None:
        self.db = db
        self.bank = bank
        self.clock = clock
        self.config = config or EngineConfig()
        self.adapters: dict[str, Adapter] = {}
        self.mock = MockInterviews(self, coach or OfflineCoach())
        self.grading = GradingQueue(self, grader, fallback, self.config.grading_concurrency)
        self._specs: dict[str, CronSpec] = {}
        self._logged_misses: set[tuple[str, str, str, str]] = set()
        self._platforms: dict[str, str] = {}
        self._maintained_at: datetime | None = None
        self._confirmations: GroupWriter[tuple[int, str, datetime]] = GroupWriter(
            db, q.confirm_posts
        )

    # -- wiring -----------------------------------------------------------------------------

    def attach(self, adapter: Adapter) -> None:
        self.adapters[adapter.platform] = adapter

    async def adapter_for(self, workspace_id: str) -> Adapter:
        """The adapter of the workspace's platform (a workspace never changes platform)."""
        platform = self._platforms.get(workspace_id)
        if platform is None:
            async with self.db.read() as conn:
                platform = await conn.scalar(
                    sa.select(workspaces.c.platform).where(workspaces.c.id == workspace_id)
                )
            self._platforms[workspace_id] = str(platform)
        return self.adapters[str(platform)]

    def is_admin(self, actor: Actor) -> bool:
        return actor.is_admin or actor.user_id in self.config.admins

    def spec(self, text: str) -> CronSpec:
        if text not in self._specs:
            self._specs[text] = CronSpec.parse(text)
        return self._specs[text]

    async def ensure_workspace(
        self, workspace_id: str, platform: str, name: str = "", timezone: str | None = None
    ) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                self.db.insert_ignore(workspaces).values(
                    id=workspace_id,
                    platform=platform,
                    name=name,
                    timezone=timezone or self.config.default_timezone,
                    created_at=self.clock.now(),
                )
            )

    async def set_workspace_active(self, workspace_id: str, active: bool) -> None:
        """Uninstall stops a workspace's schedules (its data stays); a reinstall resumes them."""
        async with self.db.write() as conn:
            await conn.execute(
                workspaces.update().where(workspaces.c.id == workspace_id).values(active=active)
            )

    async def ensure_channel(
        self,
        channel: ChannelRef,
        name: str = "",
        cron: str | None = DEFAULT_CRON,
        timezone: str | None = None,
    ) -> None:
        """Create a drill channel with the default schedule unless it exists already."""
        if cron is not None:
            self.spec(cron)
        now = self.clock.now()
        async with self.db.write() as conn:
            await conn.execute(
                self.db.insert_ignore(channels).values(
                    workspace_id=channel.workspace_id,
                    id=channel.channel_id,
                    name=name,
                    cron=cron,
                    timezone=timezone or self.config.default_timezone,
                    topics=[],
                    difficulty="mixed",
                    feedback="private",
                    schedule_since=now,
                    created_at=now,
                )
            )

    # -- the tick ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """Post due slots, resend unconfirmed posts, close due dailies, retry reveals and
        failed grades. Each step runs whatever the others did: one failing platform call
        never stops closing, revealing or grading."""
        for step in (
            self.post_due,
            self.close_due,
            self.reveal_missed,
            self.grading.retry,
            self.forget_old_events,
            self._daily_maintenance,
        ):
            try:
                await step()
            except Exception:
                _log.exception("tick step %s failed; the next tick tries again", step.__name__)

    async def _daily_maintenance(self) -> None:
        now = self.clock.now()
        if self._maintained_at is None or now - self._maintained_at >= timedelta(days=1):
            self._maintained_at = now
            await self.db.optimize()

    async def forget_old_events(self) -> None:
        """Idempotency keys are kept for a week: platforms retry within minutes."""
        async with self.db.write() as conn:
            await conn.execute(
                events.delete().where(events.c.seen_at < self.clock.now() - EVENT_TTL)
            )

    async def post_due(self) -> None:
        """Reserve every due slot, one short transaction each, and post them concurrently
        (up to POST_CONCURRENCY at once): a fan-out to many channels waits on the platforms'
        rate limits, not on one post after another."""
        now = self.clock.now()
        lookback = now - self.config.catchup - timedelta(days=1)
        platforms = list(self.adapters)
        async with self.db.read() as conn:
            chans = await q.scheduled_channels(conn, platforms)
            taken = await q.reserved_slots(conn, lookback - timedelta(days=1))
            unconfirmed = await q.stale_reservations(
                conn, platforms, now - self.config.catchup, now - SEND_LEASE
            )
        limit = asyncio.Semaphore(POST_CONCURRENCY)
        sends: list[asyncio.Task[None]] = []

        def send(daily: q.DailyRow) -> None:
            async def guarded() -> None:
                async with limit:
                    await self._send(daily)

            sends.append(asyncio.ensure_future(guarded()))

        for daily in unconfirmed:
            async with self.db.write() as conn:
                claimed = await q.claim_send(conn, daily.id, now, now - SEND_LEASE)
            if claimed:
                send(daily)
        due: list[tuple[q.ChannelRow, Slot]] = []
        for chan in chans:
            start = max(chan.schedule_since, lookback)
            for slot in slots_between(
                self.spec(chan.cron or DEFAULT_CRON), ZoneInfo(chan.timezone), start, now
            ):
                key = (chan.workspace_id, chan.id, slot.local_date.isoformat(), slot.label)
                if key in taken:
                    continue
                if now - slot.at > self.config.catchup:
                    if key not in self._logged_misses:
                        self._logged_misses.add(key)
                        _log.warning("missed_post %s/%s %s %s: outside the catch-up window", *key)
                    continue
                due.append((chan, slot))
        oldest = (lookback - timedelta(days=1)).date().isoformat()
        self._logged_misses = {k for k in self._logged_misses if k[2] >= oldest}
        for daily in await self._reserve(due, now):
            send(daily)
        await asyncio.gather(*sends, return_exceptions=True)

    def _closes_at(self, chan: q.ChannelRow, slot: Slot, extra: bool) -> datetime:
        if chan.window_minutes:  # a window an admin set applies as it is
            return slot.at + timedelta(minutes=chan.window_minutes)
        closes = slot.at + DEFAULT_WINDOW
        if not extra and chan.cron:
            following = next_slot_after(self.spec(chan.cron), ZoneInfo(chan.timezone), slot.at)
            if following is not None:
                closes = min(closes, following.at)
        return closes

    async def _reserve(
        self, due: list[tuple[q.ChannelRow, Slot]], now: datetime, extra: bool = False
    ) -> list[q.DailyRow]:
        """Record posts before sending them, all due slots in one transaction; a slot another
        run reserved first is left out."""
        reserved: list[q.DailyRow] = []
        relaxed: list[tuple[ChannelRef, str]] = []
        if not due:
            return reserved
        async with self.db.write() as conn:
            one = (due[0][0].workspace_id, due[0][0].id) if len(due) == 1 else None
            history = await q.asked_since(conn, now - NO_REPEAT_LOOKBACK, one)
            for chan, slot in due:
                pick = pick_question(
                    self.bank,
                    topics=chan.topics,
                    difficulty=chan.difficulty,
                    history=history.get((chan.workspace_id, chan.id), []),
                    now=now,
                    seed=f"{chan.workspace_id}/{chan.id}/{slot.local_date}/{slot.label}",
                )
                row = (
                    await conn.execute(
                        self.db.insert_ignore(dailies)
                        .values(
                            workspace_id=chan.workspace_id,
                            channel_id=chan.id,
                            question_id=pick.question.id,
                            local_date=slot.local_date.isoformat(),
                            slot=slot.label,
                            kind="extra" if extra else "scheduled",
                            status="reserved",
                            send_started_at=now,
                            scheduled_at=slot.at,
                            closes_at=self._closes_at(chan, slot, extra),
                        )
                        .returning(*dailies.c)
                    )
                ).first()
                if row is not None:
                    reserved.append(q.DailyRow.of(row))
                    if pick.relaxed:
                        relaxed.append((ChannelRef(chan.workspace_id, chan.id), pick.relaxed))
        for ref, why in relaxed:
            await self._notice(ref, f"relaxed-{why}", _RELAXED[why])
        return reserved

    async def _send(self, daily: q.DailyRow) -> None:
        """Post a reserved daily (after looking for a copy sent before a crash) and confirm it.
        Never raises: a daily that could not be posted stays reserved for a later tick."""
        try:
            await self._post(daily)
        except Exception:
            _log.exception("posting daily %s failed; it stays reserved and is retried", daily.id)

    async def _post(self, daily: q.DailyRow) -> None:
        question = self.bank.get(daily.question_id)
        if question is None:
            _log.error("daily %s refers to unknown question %s", daily.id, daily.question_id)
            return
        ref = ChannelRef(daily.workspace_id, daily.channel_id)
        adapter = await self.adapter_for(daily.workspace_id)
        post = DailyPost(
            daily.id,
            ref,
            question,
            daily.closes_at,
            daily.kind == "extra",
            render.how_to_answer(question, adapter.platform == "console"),
        )
        try:
            message_id = await adapter.find_daily(post) or await adapter.post_daily(post)
        except ChannelUnavailable as exc:
            await self._channel_unavailable(exc)
            return
        await self._confirmations.submit((daily.id, message_id, self.clock.now()))

    async def post_now(self, ref: ChannelRef) -> q.DailyRow | None:
        """An extra daily, posted at once; earlier open dailies stay open."""
        now = self.clock.now()
        async with self.db.read() as conn:
            chan = await q.get_channel(conn, ref.workspace_id, ref.channel_id)
        if chan is None:
            return None
        local = now.astimezone(ZoneInfo(chan.timezone))
        slot = Slot(local.date(), f"extra-{uuid.uuid4().hex[:12]}", now)
        reserved = await self._reserve([(chan, slot)], now, extra=True)
        for daily in reserved:
            await self._send(daily)
        return reserved[0] if reserved else None

    async def close_due(self, ref: ChannelRef | None = None, force: bool = False) -> int:
        """Close dailies past their window (or every open one of `ref` when forced); reveal."""
        now = self.clock.now()
        conditions = [dailies.c.status == "posted"]
        if not force:
            conditions.append(dailies.c.closes_at <= now)
        if ref is not None:
            conditions += [
                dailies.c.workspace_id == ref.workspace_id,
                dailies.c.channel_id == ref.channel_id,
            ]
        async with self.db.read() as conn:
            due = await q.dailies_where(conn, *conditions)
        closed = 0
        for daily in due:
            async with self.db.write() as conn:
                won = await conn.execute(
                    dailies.update()
                    .where(dailies.c.id == daily.id, dailies.c.status == "posted")
                    .values(status="closed", closed_at=now)
                )
                if won.rowcount == 0:
                    continue
                results = await q.daily_results(conn, daily.id)
            closed += 1
            await self._reveal(daily, results)
        return closed

    async def reveal_missed(self) -> None:
        """Reveals that failed (a platform error after the close) are tried again for a day."""
        now = self.clock.now()
        async with self.db.read() as conn:
            missed = await q.dailies_where(
                conn,
                dailies.c.status == "closed",
                dailies.c.revealed_at.is_(None),
                dailies.c.closed_at >= now - REVEAL_RETRY,
                dailies.c.closed_at < now,
            )
        for daily in missed:
            async with self.db.read() as conn:
                results = await q.daily_results(conn, daily.id)
            await self._reveal(daily, results)

    async def _reveal(self, daily: q.DailyRow, results: list[sa.Row[Any]]) -> None:
        """Post the reveal and record it; a failure leaves it for `reveal_missed`."""
        question = self.bank.get(daily.question_id)
        if question is None or daily.message_id is None:
            return
        counted = [r for r in results if r.kind == "daily"]
        top = [
            TopAnswer(render.display_name(r.name, r.privacy, r.user_id), r.score, r.text)
            for r in counted
            if r.status == "graded" and r.score >= TOP_ANSWER_MIN
        ][:TOP_ANSWERS]
        ref = ChannelRef(daily.workspace_id, daily.channel_id)
        reveal = Reveal(
            daily.id,
            ref,
            daily.message_id,
            question,
            len(counted),
            top,
            sum(1 for r in counted if r.status != "graded"),
        )
        adapter = await self.adapter_for(daily.workspace_id)
        try:
            await adapter.post_reveal(reveal)
        except ChannelUnavailable as exc:
            await self._channel_unavailable(exc)
            return  # an inactive channel gets no reveal; its answers and grades stay
        except Exception:
            _log.exception("reveal of daily %s failed; retried by the next tick", daily.id)
            return
        async with self.db.write() as conn:
            await conn.execute(
                dailies.update()
                .where(dailies.c.id == daily.id)
                .values(revealed_at=self.clock.now())
            )

    async def _channel_unavailable(self, exc: ChannelUnavailable) -> None:
        _log.warning("channel %s unavailable: %s; marked inactive", exc.channel, exc.reason)
        async with self.db.write() as conn:
            await q.update_channel(
                conn, exc.channel.workspace_id, exc.channel.channel_id, active=False
            )
        await self._notice(
            exc.channel,
            "unavailable",
            f"drillbot cannot post in channel {exc.channel.channel_id} "
            f"({exc.reason}); it is paused until an admin runs /drill resume there.",
        )

    async def _notice(self, ref: ChannelRef, kind: str, text: str) -> None:
        """Tell an admin, once per channel and kind."""
        async with self.db.write() as conn:
            fresh = await conn.execute(
                self.db.insert_ignore(notices).values(
                    workspace_id=ref.workspace_id,
                    channel_id=ref.channel_id,
                    kind=kind,
                    sent_at=self.clock.now(),
                )
            )
        if fresh.rowcount:
            await (await self.adapter_for(ref.workspace_id)).notify_admins(ref, text)

    # -- answers ------------------------------------------------------------------------------

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
    ) -> list[Reply]:
        """A message in a thread: the first one of a user under a daily is their answer.
        `sent_at` is when the platform says it was sent (a retry or a replay after a reconnect
        arrives later than that)."""
        async with self.db.read() as conn:
            daily = await q.daily_by_message(conn, channel.workspace_id, thread_id)
        if daily is None or daily.channel_id != channel.channel_id:
            return []
        return await self.answer_daily(
            event_key=event_key,
            actor=actor,
            daily=daily,
            text=text,
            source="thread",
            message_id=message_id,
            edited=edited,
            sent_at=sent_at,
        )

    async def on_private_answer(
        self, *, event_key: str, actor: Actor, daily_id: int, text: str, choice: bool = False
    ) -> list[Reply]:
        """An answer nobody else sees: the Answer privately form (a new form answer replaces
        the earlier one while the daily is open) or a click on an MCQ choice button (the
        first click counts)."""
        async with self.db.read() as conn:
            daily = await q.get_daily(conn, actor.workspace_id, daily_id)
        if daily is None:
            return [Reply("That question no longer exists.")]
        return await self.answer_daily(
            event_key=event_key,
            actor=actor,
            daily=daily,
            text=text,
            source="choice" if choice else "form",
        )

    async def on_loose_message(
        self, *, event_key: str, actor: Actor, channel: ChannelRef, text: str
    ) -> list[Reply]:
        """A plain message outside a thread (the console, a DM): it goes to the user's active
        mock interview, else answers their practice question if one is waiting, else the
        channel's most recent open daily."""
        in_session = await self.mock.route(event_key=event_key, actor=actor, text=text)
        if in_session is not None:
            return in_session
        async with self.db.read() as conn:
            pending = (
                await conn.execute(
                    sa.select(practice).where(
                        practice.c.workspace_id == actor.workspace_id,
                        practice.c.user_id == actor.user_id,
                        # a question left unanswered for a day stops capturing plain lines
                        practice.c.started_at >= self.clock.now() - PRACTICE_TTL,
                    )
                )
            ).first()
            open_dailies = await q.dailies_where(
                conn,
                dailies.c.workspace_id == channel.workspace_id,
                dailies.c.channel_id == channel.channel_id,
                dailies.c.status == "posted",
            )
        if pending is not None:
            return await self.answer_practice(
                event_key=event_key, actor=actor, row=pending, text=text
            )
        now = self.clock.now()
        current = [d for d in open_dailies if d.is_open(now)]
        if not current:
            return [
                Reply(
                    "No question is open right now. Try `/drill practice`, "
                    "or `/drill post-now` if you are an admin."
                )
            ]
        return await self.answer_daily(
            event_key=event_key, actor=actor, daily=current[-1], text=text, source="line"
        )

    def check_text(self, question: Question, text: str) -> tuple[str, list[Reply]]:
        """Normalise an answer; MCQs take a letter. Returns (text, refusal replies)."""
        text = text.strip()
        if len(text) > MAX_ANSWER_CHARS:
            return text, [
                Reply(
                    f"That answer is {len(text)} characters; the limit is "
                    f"{MAX_ANSWER_CHARS}. Please shorten it and send it again."
                )
            ]
        if question.type == "mcq":
            letter = text.upper().rstrip(").")
            if letter not in question.letters:
                return text, [
                    Reply(
                        f"This question is multiple choice: answer with one of "
                        f"{', '.join(question.letters)}."
                    )
                ]
            return letter, []
        return text, []

    async def answer_daily(
        self,
        *,
        event_key: str,
        actor: Actor,
        daily: q.DailyRow,
        text: str,
        source: str,
        message_id: str | None = None,
        edited: bool = False,
        sent_at: datetime | None = None,
    ) -> list[Reply]:
        question = self.bank.get(daily.question_id)
        if question is None:
            return []
        text, refusal = self.check_text(question, text)
        if refusal:
            # In a thread a non-answer to an MCQ is discussion; elsewhere the user is told.
            return [] if source == "thread" and question.type == "mcq" else refusal
        now = self.clock.now()
        at = _sent(sent_at, now)
        kind = "daily" if daily.on_time(at) else "late"
        async with self.db.write() as conn:
            if not await self.record_event(conn, actor, event_key):
                return []
            row = (
                await conn.execute(
                    self.db.insert_ignore(answers)
                    .values(
                        workspace_id=daily.workspace_id,
                        channel_id=daily.channel_id,
                        daily_id=daily.id,
                        user_id=actor.user_id,
                        question_id=question.id,
                        kind=kind,
                        source=source,
                        text=text,
                        message_id=message_id,
                        answered_at=at,
                        status="pending",
                    )
                    .returning(*answers.c)
                )
            ).first()
            if row is None:
                existing = await q.answer_of(conn, daily.id, actor.user_id)
                if existing is None or not self._replaces(
                    existing, source, message_id, edited, kind, question
                ):
                    return [] if source == "thread" else [Reply(ALREADY_ANSWERED)]
                row = (
                    await conn.execute(
                        answers.update()
                        .where(answers.c.id == existing.id)
                        .values(text=text, edited_at=now, status="pending", score=None, points=None)
                        .returning(*answers.c)
                    )
                ).first()
        answer = q.AnswerRow.of(row)
        self.grading.submit(answer.id, (answer, daily))
        return [Reply(RECEIVED)] if source == "form" else []

    @staticmethod
    def _replaces(
        existing: q.AnswerRow,
        source: str,
        message_id: str | None,
        edited: bool,
        kind: str,
        question: Question,
    ) -> bool:
        """An edit of the answer message, or a new form answer, replaces it before close."""
        if kind != "daily" or existing.kind != "daily" or question.type == "mcq":
            return False
        if edited:
            return message_id is not None and message_id == existing.message_id
        return source == "form" and existing.source == "form"

    async def record_event(self, conn: AsyncConnection, actor: Actor, event_key: str) -> bool:
        """Record the event key and the user; False when this event was seen before."""
        seen = await conn.execute(
            self.db.insert_ignore(events).values(
                workspace_id=actor.workspace_id, key=event_key, seen_at=self.clock.now()
            )
        )
        if seen.rowcount == 0:
            return False
        await conn.execute(
            self.db.insert_ignore(users).values(
                workspace_id=actor.workspace_id,
                id=actor.user_id,
                name=actor.name or actor.user_id,
            )
        )
        return True

    async def start_practice(self, actor: Actor, channel: ChannelRef, question: Question) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                practice.delete().where(
                    practice.c.workspace_id == actor.workspace_id,
                    practice.c.user_id == actor.user_id,
                )
            )
            await conn.execute(
                practice.insert().values(
                    workspace_id=actor.workspace_id,
                    user_id=actor.user_id,
                    channel_id=channel.channel_id,
                    question_id=question.id,
                    started_at=self.clock.now(),
                )
            )

    async def practice_quota_left(self, actor: Actor) -> int:
        """Cost guard: graded practice/mock answers still allowed in the rolling 24 hours."""
        since = self.clock.now() - timedelta(days=1)
        async with self.db.read() as conn:
            used = await q.practice_answers_since(conn, actor.workspace_id, actor.user_id, since)
        return max(0, self.config.practice_limit - used)

    def limit_reached(self, question_kept: bool = False) -> list[Reply]:
        kept = " Your question waits for you: answer it again tomorrow." if question_kept else ""
        return [
            Reply(
                f"You have had {self.config.practice_limit} graded practice answers in the "
                f"last 24 hours, the daily limit; the daily question still counts.{kept}"
            )
        ]

    async def answer_practice(
        self, *, event_key: str, actor: Actor, row: sa.Row[Any], text: str
    ) -> list[Reply]:
        question = self.bank.get(row.question_id)
        if question is None:
            return [Reply("That practice question is no longer in the bank.")]
        text, refusal = self.check_text(question, text)
        if refusal:
            return refusal
        if not await self.practice_quota_left(actor):
            return self.limit_reached(question_kept=True)
        async with self.db.write() as conn:
            if not await self.record_event(conn, actor, event_key):
                return []
            gone = await conn.execute(
                practice.delete().where(
                    practice.c.workspace_id == actor.workspace_id,
                    practice.c.user_id == actor.user_id,
                    practice.c.question_id == question.id,
                )
            )
            if gone.rowcount == 0:
                return []
            answer_id = await q.insert_practice_answer(
                conn,
                workspace_id=actor.workspace_id,
                channel_id=row.channel_id,
                user_id=actor.user_id,
                question_id=question.id,
                source="dm",
                text=text,
                at=self.clock.now(),
            )
        self.grading.submit(answer_id)
        return []

    async def drain(self) -> None:
        """Wait for every grading in flight."""
        await self.grading.drain()

    # -- derived views ------------------------------------------------------------------------

    async def streak(self, ref: ChannelRef, user_id: str) -> Streak:
        async with self.db.read() as conn:
            return fold_streak(await q.streak_days(conn, ref.workspace_id, ref.channel_id, user_id))


def _sent(sent_at: datetime | None, now: datetime) -> datetime:
    """When an answer counts as given: the platform's send time when it is plausible (not in
    the future, at most MAX_DELIVERY_DELAY old), else the time it reached us."""
    if sent_at is None or sent_at > now or now - sent_at > MAX_DELIVERY_DELAY:
        return now
    return sent_at


_RELAXED = {
    "repeat": "Every question matching this channel's topics and difficulty was asked in the "
    "last 30 days, so older questions are being repeated. Add topics or a pack.",
    "filters": "No question matches this channel's topics and difficulty, so drillbot is "
    "posting from the whole bank. Check `/drill config`.",
}
