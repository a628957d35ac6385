"""The daily lifecycle: schedule, post, close, reveal (docs/design.md "Daily question lifecycle").

Correctness lives in the database, not in memory: every post and every reveal is reserved
once under its natural key before it is done and confirmed after (`bot.store.reserve`); a
reservation left unconfirmed is looked for on the platform before it is redone.

A fan-out hands each workspace's posts to the platform as soon as that workspace's slots are
reserved, and never makes the rest of the tick (closing, revealing, grading) wait for the
slowest channel. Each post and each reveal runs as a task of its own, tracked by daily: the
tick waits for them only a bounded time (`settle`), a daily whose post or reveal is still in
flight here is not taken up again meanwhile, and so a channel whose platform is slow or hangs
(every HTTP attempt has a timeout; a Retry-After wait is honoured in full) delays only itself.

Scale-out (docs/design.md "Platforms and operations"): a workspace's due posts are one claim
(`post:<workspace>` in `bot.store.reserve.Claims`), so one process holds that workspace's rate
budget; each process claims at most its share of the due workspaces per tick (due / live
processes), so a fan-out spreads over the processes. The claim and the posts' send leases
carry this process's id and are renewed while it sends; when it dies they lapse and another
process takes the workspace over, looking each owed post up on the platform before sending.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain import render
from bot.domain.cronspec import Slot, next_slot_after, slots_between
from bot.domain.picker import pick_question
from bot.domain.types import ChannelRef, DailyPost, Reveal, TopAnswer
from bot.errors import ChannelUnavailable
from bot.packs import Bank
from bot.services.config import CoreConfig
from bot.services.platforms import Platforms
from bot.services.tenants import DEFAULT_CRON, spec
from bot.store.dailies import Dailies
from bot.store.reserve import Claims, Holder
from bot.store.rows import ChannelRow, DailyRow, ResultRow
from bot.store.skips import Skips
from bot.store.tenancy import Tenancy

_log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(hours=24)
TOP_ANSWERS = 3
#: Only answers graded "good" or better are shown as the day's best: a 0/10 "no idea" is
#: nobody's model to learn from.
TOP_ANSWER_MIN = 7
#: Sends in flight per workspace: a workspace whose platform throttles it holds only its own
#: slots, so it never delays another workspace's posts.
POST_CONCURRENCY = 16
#: The default lease on a reserved post's send: a post unconfirmed this long after its lease
#: was last renewed is sent again (after looking for it on the platform).
SEND_LEASE = CoreConfig().lease
#: What names a live process in `claims` (renewed by its heartbeat).
WORKER = "worker:"
REVEAL_RETRY = timedelta(days=1)
#: How far back a channel's questions are read to keep the 30-day no-repeat rule.
NO_REPEAT_LOOKBACK = timedelta(days=31)
RELAXED = {
    "repeat": "Every question matching this channel's topics and difficulty was asked in the "
    "last 30 days, so older questions are being repeated. Add topics or a pack.",
    "filters": "No question matches this channel's topics and difficulty, so drillbot is "
    "posting from the whole bank. Check `/drill config`.",
}


def closes_at(chan: ChannelRow, slot: Slot, extra: bool) -> datetime:
    """The end of a daily's window: the channel's window when an admin set one, else until the
    next slot or 24 h, whichever is first (an extra daily: 24 h)."""
    if chan.window_minutes:  # a window an admin set applies as it is
        return slot.at + timedelta(minutes=chan.window_minutes)
    closes = slot.at + DEFAULT_WINDOW
    if not extra and chan.cron:
        following = next_slot_after(spec(chan.cron), ZoneInfo(chan.timezone), slot.at)
        if following is not None:
            closes = min(closes, following.at)
    return closes


def reveal_of(daily: DailyRow, bank: Bank, results: list[ResultRow]) -> Reveal | None:
    """What the reveal shows: the reference, how many answered, the top answers, the pending."""
    question = bank.get(daily.question_id)
    if question is None or daily.message_id is None:
        return None
    counted = [r for r in results if r.kind == "daily"]
    top = [
        TopAnswer(render.display_name(r.name, r.privacy, r.user_id), r.score, r.text)
        for r in counted
        if r.status == "graded" and r.score is not None and r.score >= TOP_ANSWER_MIN
    ][:TOP_ANSWERS]
    return Reveal(
        daily.id,
        ChannelRef(daily.workspace_id, daily.channel_id),
        daily.message_id,
        question,
        len(counted),
        top,
        sum(1 for r in counted if r.status != "graded"),
    )


@dataclass(eq=False, kw_only=True)
class DailyLifecycle:
    tenancy: Tenancy
    dailies: Dailies
    bank: Bank
    clock: Clock
    platforms: Platforms
    config: CoreConfig
    skips: Skips
    claims: Claims
    holder: Holder
    #: Called with each daily just before it is posted (the weekly digest goes first).
    before_post: list[Callable[[DailyRow], Awaitable[None]]] = field(default_factory=list)
    _logged_misses: set[tuple[str, str, str, str]] = field(default_factory=set)
    _sending: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    #: Workspaces whose claimed fan-out runs in this process.
    _fanouts: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: Posts and reveals in flight in this process, by (what, daily id).
    _in_flight: dict[tuple[str, int], asyncio.Task[None]] = field(default_factory=dict)
    _started_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._started_at = self.clock.now()

    def _lease_before(self, now: datetime) -> datetime:
        """A reserved post whose send lease was renewed before this is owed again: its lease
        lapsed, or (one process per database) it was started by a process that is gone."""
        lapsed = self.holder.lapsed_before(now)
        return max(lapsed, self._started_at) if self.config.single_process else lapsed

    def _launch(self, what: str, daily_id: int, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        key = (what, daily_id)
        self._in_flight[key] = task
        task.add_done_callback(lambda _t: self._in_flight.pop(key, None))
        return task

    def _busy(self, what: str, daily_id: int) -> bool:
        return (what, daily_id) in self._in_flight

    # -- posting ----------------------------------------------------------------------------

    async def post_due(self, settle: float | None = None) -> None:
        """Post every due slot: each workspace with due or owed posts is claimed (up to this
        process's share), its owed posts are taken over (after their lease lapsed) and its new
        slots reserved in one short transaction and handed to the platform at once (up to
        POST_CONCURRENCY sends in flight per workspace), so a fan-out waits on the platforms'
        rate limits, and a slow workspace delays only itself. Returns when every fan-out is
        done, or after `settle` seconds (the tick's bound: the rest go on, and the next tick
        leaves them alone)."""
        now = self.clock.now()
        lookback = now - self.config.catchup - timedelta(days=1)
        platforms = self.platforms.served
        chans = await self.tenancy.scheduled_channels(platforms)
        taken = await self.dailies.reserved_slots(lookback - timedelta(days=1))
        lease_before = self._lease_before(now)
        owed: dict[str, list[DailyRow]] = {}
        for daily in await self.dailies.owed_posts(
            platforms, now - self.config.catchup, lease_before
        ):
            owed.setdefault(daily.workspace_id, []).append(daily)
        by_workspace: dict[str, list[tuple[ChannelRow, Slot]]] = {}
        skipped = await self.skips.between(
            [(c.workspace_id, c.id) for c in chans],
            lookback.date() - timedelta(days=2),
            now.date() + timedelta(days=2),
        )
        for chan in chans:
            start = max(chan.schedule_since, lookback)
            try:
                slots = slots_between(
                    spec(chan.cron or DEFAULT_CRON), ZoneInfo(chan.timezone), start, now
                )
            except (ValueError, KeyError) as exc:  # CronError, ZoneInfoNotFoundError
                await self._unusable_schedule(chan, exc)
                continue
            no_slot: set[date] = skipped.get((chan.workspace_id, chan.id), set())
            for slot in slots:
                key = (chan.workspace_id, chan.id, slot.local_date.isoformat(), slot.label)
                if key in taken or slot.local_date in no_slot:
                    continue  # a skipped date has no slot
                if now - slot.at > self.config.catchup:
                    if key not in self._logged_misses:
                        self._logged_misses.add(key)
                        _log.warning("missed_post %s/%s %s %s: outside the catch-up window", *key)
                    continue
                by_workspace.setdefault(chan.workspace_id, []).append((chan, slot))
        oldest = (lookback - timedelta(days=1)).date().isoformat()
        self._logged_misses = {k for k in self._logged_misses if k[2] >= oldest}
        due = sorted(w for w in set(by_workspace) | set(owed) if w not in self._fanouts)
        started: list[asyncio.Task[None]] = []
        for workspace_id in await self._claim(due, now):
            task = asyncio.ensure_future(
                self._fan_out(workspace_id, by_workspace.get(workspace_id, []), owed, now)
            )
            self._fanouts[workspace_id] = task
            started.append(task)
        if started:
            await asyncio.wait(started, timeout=settle)

    async def _claim(self, due: list[str], now: datetime) -> list[str]:
        """Claim this process's share of the due workspaces: due / live processes, rounded
        up (all of them when this is the only one)."""
        if not due:
            return []
        live = await self.claims.live(WORKER, self.holder, now)
        share = math.ceil(len(due) / max(1, live))
        won = await self.claims.claim([f"post:{w}" for w in due], self.holder, now, share)
        return [name.removeprefix("post:") for name in won]

    async def _fan_out(
        self,
        workspace_id: str,
        due: list[tuple[ChannelRow, Slot]],
        owed: dict[str, list[DailyRow]],
        now: datetime,
    ) -> None:
        """One claimed workspace's posts: owed ones taken over, new ones reserved, all sent;
        then the claim is released."""
        try:
            sends: list[asyncio.Task[None]] = []
            lease_before = self._lease_before(now)
            for daily in owed.get(workspace_id, []):
                if self._busy("post", daily.id):
                    continue  # still being sent by this process (a slow platform)
                if await self.dailies.take_post(daily.id, now, lease_before, self.holder.owner):
                    sends.append(
                        self._launch("post", daily.id, self._send_limited(daily, owed=True))
                    )
            for daily in await self._reserve(due, now):
                sends.append(self._launch("post", daily.id, self._send_limited(daily)))
            await asyncio.gather(*sends, return_exceptions=True)
        except Exception:
            _log.exception("fan-out of workspace %s failed; retried next tick", workspace_id)
        finally:
            self._fanouts.pop(workspace_id, None)
            await self.claims.release([f"post:{workspace_id}"], self.holder)

    async def drain(self) -> None:
        """Wait for the fan-outs in flight (shutdown, tests)."""
        while self._fanouts:
            await asyncio.gather(*list(self._fanouts.values()), return_exceptions=True)

    async def _unusable_schedule(self, chan: ChannelRow, exc: Exception) -> None:
        """A stored schedule that no longer loads (a timezone the installed tzdata dropped, a
        cron spec a newer release refuses): only this channel stops, paused, and an admin is
        told once; every other channel keeps posting."""
        ref = ChannelRef(chan.workspace_id, chan.id)
        _log.warning(
            "channel %s/%s: schedule unusable (%s); paused", chan.workspace_id, chan.id, exc
        )
        try:
            await self.tenancy.update_channel(chan.workspace_id, chan.id, paused=True)
            await self.platforms.notify_once(
                ref,
                "unusable-schedule",
                f"drillbot paused channel {chan.name or chan.id}: its stored schedule "
                f"({chan.cron or DEFAULT_CRON}, tz {chan.timezone}) cannot be used: {exc}. "
                "Set it again with `/drill schedule CRON tz=ZONE`, then `/drill resume`.",
            )
        except Exception:
            _log.exception(
                "pausing channel %s/%s failed; tried again next tick", chan.workspace_id, chan.id
            )

    async def _reserve(
        self, due: list[tuple[ChannelRow, Slot]], now: datetime, extra: bool = False
    ) -> list[DailyRow]:
        """Pick each due slot's question (`due`: slots of one workspace) and reserve the posts
        in one transaction; a slot another run reserved first is left out."""
        if not due:
            return []
        workspace_id = due[0][0].workspace_id
        one = due[0][0].id if len(due) == 1 else None
        history = await self.dailies.asked_since(now - NO_REPEAT_LOOKBACK, workspace_id, one)
        values: list[dict[str, Any]] = []
        relaxed: dict[tuple[str, str, str], str] = {}
        for chan, slot in due:
            pick = pick_question(
                self.bank,
                topics=chan.topics,
                difficulty=chan.difficulty,
                history=history.get((chan.workspace_id, chan.id), []),
                now=now,
                seed=f"{chan.workspace_id}/{chan.id}/{slot.local_date}/{slot.label}",
            )
            values.append(
                {
                    "workspace_id": chan.workspace_id,
                    "channel_id": chan.id,
                    "question_id": pick.question.id,
                    "local_date": slot.local_date.isoformat(),
                    "slot": slot.label,
                    "kind": "extra" if extra else "scheduled",
                    "status": "reserved",
                    "send_started_at": now,
                    "lease_owner": self.holder.owner,
                    "scheduled_at": slot.at,
                    "closes_at": closes_at(chan, slot, extra),
                }
            )
            if pick.relaxed:
                relaxed[(chan.workspace_id, chan.id, slot.label)] = pick.relaxed
        reserved = await self.dailies.reserve_posts(values)
        for daily in reserved:
            why = relaxed.get((daily.workspace_id, daily.channel_id, daily.slot))
            if why:
                await self.platforms.notify_once(
                    ChannelRef(daily.workspace_id, daily.channel_id), f"relaxed-{why}", RELAXED[why]
                )
        return reserved

    async def _send_limited(self, daily: DailyRow, owed: bool = False) -> None:
        limit = self._sending.setdefault(daily.workspace_id, asyncio.Semaphore(POST_CONCURRENCY))
        async with limit:
            await self._send(daily, owed)

    async def _send(self, daily: DailyRow, owed: bool = False) -> None:
        """Post a reserved daily and confirm it; an owed one (reserved earlier, maybe sent
        before a crash) is first looked for on the platform. A reservation this call just won
        was never sent by anyone, so it is posted without a look. Never raises: a daily that
        could not be posted stays reserved for a later tick."""
        try:
            await self._post(daily, owed)
        except Exception:
            _log.exception("posting daily %s failed; it stays reserved and is retried", daily.id)
            try:
                await self.dailies.drop_post_lease(daily.id)
            except Exception:
                _log.exception("daily %s keeps its lease until this process stops", daily.id)

    async def _post(self, daily: DailyRow, owed: bool) -> None:
        question = self.bank.get(daily.question_id)
        if question is None:
            _log.error("daily %s refers to unknown question %s", daily.id, daily.question_id)
            return
        ref = ChannelRef(daily.workspace_id, daily.channel_id)
        adapter = await self.platforms.adapter_for(daily.workspace_id)
        post = DailyPost(
            daily.id,
            ref,
            question,
            daily.closes_at,
            daily.kind == "extra",
            render.how_to_answer(question, adapter.platform == "console"),
        )
        now = self.clock.now()
        if not await self.dailies.take_post(
            daily.id, now, self.holder.lapsed_before(now), self.holder.owner
        ):
            return  # another process took this post over (this one stalled past its lease)
        for hook in self.before_post:
            try:
                await hook(daily)
            except Exception:
                _log.exception("before posting daily %s: a hook failed; posting anyway", daily.id)
        try:
            found = await adapter.find_daily(post) if owed else None
            message_id = found or await adapter.post_daily(post)
        except ChannelUnavailable as exc:
            await self.channel_unavailable(exc)
            return
        await self.dailies.confirm_post(daily.id, message_id, self.clock.now())

    async def post_now(self, ref: ChannelRef) -> DailyRow | None:
        """An extra daily, posted at once; earlier open dailies stay open."""
        now = self.clock.now()
        chan = await self.tenancy.channel(ref.workspace_id, ref.channel_id)
        if chan is None:
            return None
        local = now.astimezone(ZoneInfo(chan.timezone))
        slot = Slot(local.date(), f"extra-{uuid.uuid4().hex[:12]}", now)
        reserved = await self._reserve([(chan, slot)], now, extra=True)
        for daily in reserved:
            await self._send(daily)
        return reserved[0] if reserved else None

    # -- closing and revealing --------------------------------------------------------------

    async def close_due(
        self, ref: ChannelRef | None = None, force: bool = False, settle: float | None = None
    ) -> int:
        """Close dailies past their window (or every open one of `ref` when forced) and post
        their reveals side by side; returns once they are done or after `settle` seconds."""
        now = self.clock.now()
        channel = (ref.workspace_id, ref.channel_id) if ref else None
        reveals: list[asyncio.Task[None]] = []
        for daily in await self.dailies.to_close(now, channel, force):
            results = await self.dailies.close(daily.id, now)
            if results is None:
                continue
            reveals.append(self._launch("reveal", daily.id, self._reveal(daily, results)))
        if reveals:
            await asyncio.wait(reveals, timeout=settle)
        return len(reveals)

    async def reveal_missed(self, settle: float | None = None) -> None:
        """Reveals that failed (a platform error after the close) are tried again for a day,
        side by side; one still in flight here is left to finish."""
        now = self.clock.now()
        lapsed = self.holder.lapsed_before(now)
        reveals: list[asyncio.Task[None]] = []
        for daily in await self.dailies.owed_reveals(now - REVEAL_RETRY, now, lapsed):
            if self._busy("reveal", daily.id):
                continue  # still being revealed by this process
            if await self.dailies.take_reveal(daily.id, now, lapsed):
                results = await self.dailies.results(daily.id)
                reveals.append(self._launch("reveal", daily.id, self._reveal(daily, results)))
        if reveals:
            await asyncio.wait(reveals, timeout=settle)

    async def _reveal(self, daily: DailyRow, results: list[ResultRow]) -> None:
        """Post the reveal and confirm it; a failure leaves it owed for `reveal_missed`."""
        reveal = reveal_of(daily, self.bank, results)
        if reveal is None:
            return
        adapter = await self.platforms.adapter_for(daily.workspace_id)
        try:
            await adapter.post_reveal(reveal)
        except ChannelUnavailable as exc:
            await self.channel_unavailable(exc)
            return  # an inactive channel gets no reveal; its answers and grades stay
        except Exception:
            _log.exception("reveal of daily %s failed; retried by the next tick", daily.id)
            await self.dailies.drop_reveal_lease(daily.id)
            return
        await self.dailies.confirm_reveal(daily.id, self.clock.now())

    async def channel_unavailable(self, exc: ChannelUnavailable) -> None:
        _log.warning("channel %s unavailable: %s; marked inactive", exc.channel, exc.reason)
        await self.tenancy.update_channel(
            exc.channel.workspace_id, exc.channel.channel_id, active=False
        )
        await self.platforms.notify_once(
            exc.channel,
            "unavailable",
            f"drillbot cannot post in channel {exc.channel.channel_id} "
            f"({exc.reason}); it is paused until an admin runs /drill resume there.",
        )


Step = Callable[[], Awaitable[object]]


@dataclass(eq=False)
class Tick:
    """One tick of time-driven work. Every step (posting, closing and revealing, re-posting
    missed reveals, grading retries, chores) runs as a task of its own, so none waits for
    another; a step still running from an earlier tick (a hung platform call) is not started
    again, and the others go on. One failing step never stops the rest."""

    posting: Step
    steps: list[Step]
    _running: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    def start(self) -> list[asyncio.Task[None]]:
        """Start every step not still running; the tasks started."""
        started: list[asyncio.Task[None]] = []
        for index, step in enumerate([self.posting, *self.steps]):
            running = self._running.get(index)
            if running is not None and not running.done():
                continue
            task = asyncio.ensure_future(self._guarded(step))
            self._running[index] = task
            started.append(task)
        return started

    async def run(self) -> None:
        """Start the steps and wait for those started."""
        await asyncio.gather(*self.start())

    async def finish(self, grace: float) -> None:
        """Wait for the steps in flight, at most `grace` seconds; cancel what is left and wait
        for it to unwind, so nothing runs on once this returns."""
        running = [task for task in self._running.values() if not task.done()]
        if not running:
            return
        _, left = await asyncio.wait(running, timeout=grace)
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)

    @staticmethod
    async def _guarded(step: Step) -> None:
        try:
            await step()
        except Exception:
            _log.exception("tick step %s failed; the next tick tries again", _name(step))


def _name(step: Step) -> str:
    return str(getattr(step, "__name__", None) or getattr(step, "func", step))


class Housekeeping:
    """The tick's chores: idempotency keys are kept for a week (platforms retry within
    minutes), and SQLite's planner statistics are refreshed daily."""

    EVENT_TTL = timedelta(days=7)

    def __init__(self, tenancy: Tenancy, clock: Clock, optimize: Step) -> None:
        self.tenancy = tenancy
        self.clock = clock
        self.optimize = optimize
        self._maintained_at: datetime | None = None

    async def forget_old_events(self) -> None:
        await self.tenancy.forget_events(self.clock.now() - self.EVENT_TTL)

    async def daily_maintenance(self) -> None:
        now = self.clock.now()
        if self._maintained_at is None or now - self._maintained_at >= timedelta(days=1):
            self._maintained_at = now
            await self.optimize()
