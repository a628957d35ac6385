"""`/drill` commands: each handler answers a parsed command with replies (errbot style).

Admin commands are refused here, whatever the platform showed the user, because Discord
cannot hide subcommands and a Slack command is visible to everyone. Every handler reaches
storage through repositories and other use cases through the services passed in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain import calendar, render
from bot.domain.commands import ADMIN, READ_ONLY, Command, parse, usage
from bot.domain.costs import Over
from bot.domain.rubric import stored_rubric
from bot.domain.types import Actor, ChannelRef, Reply
from bot.errors import UsageError
from bot.packs import Bank
from bot.services.dailies import DailyLifecycle
from bot.services.dashboard import Dashboard
from bot.services.grading import GradingQueue
from bot.services.mock import MockInterviews
from bot.services.platforms import Platforms
from bot.services.practice import Practice
from bot.services.quota import Quota
from bot.services.selfcheck import SelfCheck
from bot.services.team import TeamPractice
from bot.services.tenants import DEFAULT_CRON, Tenants
from bot.store import Store
from bot.store.rows import ChannelRow

_log = logging.getLogger(__name__)
Handler = Callable[["Commands", Actor, ChannelRef, Command], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Collaborators:
    """What the command handlers use: the repositories and the use cases they dispatch to."""

    store: Store
    bank: Bank
    clock: Clock
    platforms: Platforms
    tenants: Tenants
    dailies: DailyLifecycle
    grading: GradingQueue
    quota: Quota
    practice: Practice
    mock: MockInterviews
    dashboard: Dashboard
    selfcheck: SelfCheck
    team: TeamPractice


#: How many upcoming skipped dates `/drill config` and `/drill skip list` show.
NEXT_SKIPS = 5
#: The longest a daily stays open when no window is set (the cap on `remind=`).
DEFAULT_WINDOW_MINUTES = 24 * 60
#: Platforms whose DMs belong to no workspace: `/drill remind` there covers every workspace
#: of the platform the user is known in.
DM_WORKSPACE_PREFIX = "discord-dm-"


class Commands:
    """Dispatches `/drill ...` text to its handler."""

    def __init__(self, use: Collaborators) -> None:
        self.use = use
        self.store = use.store

    async def handle(
        self, *, event_key: str, actor: Actor, channel: ChannelRef, text: str
    ) -> list[Reply]:
        try:
            command = parse(text)
        except UsageError as exc:
            return [Reply(str(exc))]
        if command.name in ADMIN and not self.use.tenants.is_admin(actor):
            return [Reply(f"`/drill {command.name}` is for workspace admins.")]
        if command.name not in READ_ONLY and not await self.store.tenancy.record_event(
            actor.workspace_id,
            actor.user_id,
            actor.name or actor.user_id,
            event_key,
            self.use.clock.now(),
        ):
            return []
        try:
            return await HANDLERS[command.name](self, actor, channel, command)
        except Exception:
            # The event is recorded, so a platform retry will not run it twice; the user is
            # told plainly and the trace goes to the log, never to the chat.
            _log.exception("/drill %s failed for %s", command.name, actor.user_id)
            return [Reply(f"Sorry, `/drill {command.name}` failed on our side; try again.")]

    # -- everyone ---------------------------------------------------------------------------

    async def help(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        return [Reply(usage(cmd.args.get("topic")))]

    def _unknown_topic(self, *topics: str | None, saved: bool = False) -> list[Reply]:
        """Refuse topics no question has (a declared but empty topic could never be asked)."""
        known = {question.topic for question in self.use.bank}
        unknown = sorted(t for t in topics if t is not None and t not in known)
        if not unknown:
            return []
        nothing = "; nothing saved" if saved else ""
        named = ", ".join(repr(t) for t in unknown)
        return [Reply(f"Unknown topic {named}{nothing}. Topics: {', '.join(sorted(known))}")]

    async def practice(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        topic = cmd.args.get("topic")
        if refused := self._unknown_topic(topic):
            return refused
        return await self.use.practice.start(actor, channel, topic)

    async def mock(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        action = cmd.args.get("action")
        if action in ("hint", "skip", "stop", "resume"):
            return await self.use.mock.command(actor, action)
        if refused := self._unknown_topic(cmd.args.get("topic")):
            return refused
        if over := await self.use.quota.over(actor):
            return self.use.quota.refusal(over)
        left = await self.use.quota.left(actor)
        return await self.use.mock.start(
            actor,
            channel,
            topic=cmd.args.get("topic"),
            count=min(cmd.args.get("count", 5), left),
            difficulty=cmd.args.get("difficulty"),
            again=action == "again",
        )

    async def stats(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        stats = await self.use.dashboard.stats(actor)
        lines = [f"Your stats: {stats.reviews_due} review(s) due now."]
        lines += [
            f"  {topic}: {mean:.1f}/10 over {n} question(s)"
            for topic, (mean, n) in sorted(stats.mastery.items(), key=lambda kv: kv[1][0])
        ]
        if not stats.mastery:
            lines.append("  No graded answers yet: try `/drill practice` or `/drill mock`.")
        lines.append(stats.bests.text())
        try:
            from bot.domain.chart import stats_png

            png = await asyncio.to_thread(stats_png, stats.mastery, stats.per_day)
        except ImportError:
            lines.append("(Install matplotlib for the chart.)")
        else:
            adapter = await self.use.platforms.adapter_for(actor.workspace_id)
            await adapter.upload_file(
                channel,
                actor.user_id,
                f"drillbot-stats-{actor.user_id}-{stats.today}.png",
                png,
                "Your drillbot stats",
            )
        return [Reply("\n".join(lines))]

    async def export(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        data = await self.store.boards.export(actor.workspace_id, actor.user_id)
        data.update(await self.store.team.export(actor.workspace_id, actor.user_id))
        body = json.dumps(data, indent=2, sort_keys=True).encode()
        adapter = await self.use.platforms.adapter_for(actor.workspace_id)
        await adapter.upload_file(
            channel,
            actor.user_id,
            f"drillbot-export-{actor.workspace_id}-{actor.user_id}.json",
            body,
            "Your drillbot data",
        )
        return [
            Reply(
                f"Your data: {len(data['answers'])} answer(s), "
                f"{len(data['reviews'])} review card(s), "
                f"{len(data['mock_sessions'])} mock interview(s)."
            )
        ]

    async def streak(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        chan = await self.use.tenants.channel(channel)
        if chan is None:
            return [Reply("Streaks count in drill channels; run this in one.")]
        streak = await self.use.dashboard.streak(channel, actor.user_id)
        return [Reply(render.streak_text(chan.name or chan.id, streak))]

    async def leaderboard(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        kind, scope, which = cmd.args["kind"], cmd.args["scope"], cmd.args["board"]
        chan = await self.use.tenants.channel(channel)
        if which == "channel" and chan is None:
            return [Reply("This is not a drill channel; try `/drill leaderboard workspace`.")]
        tz_name = (
            chan.timezone
            if which == "channel" and chan
            else await self.use.tenants.timezone_of(channel.workspace_id)
        )
        rows = await self.use.team.board(
            kind,
            scope,
            channel.workspace_id,
            channel.channel_id if which == "channel" else None,
            ZoneInfo(tz_name),
        )
        label = {"week": "this week", "month": "this month", "all": "all time"}[scope]
        where = f"#{chan.name or chan.id}" if which == "channel" and chan else "the workspace"
        title = {
            "points": "Leaderboard",
            "improved": "Most improved (mean score against the days just before)",
            "consistency": "Consistency (share of scheduled days answered)",
        }[kind]
        empty = {
            "points": "No graded answers yet.",
            "improved": "No one qualifies yet: it takes 3 graded answers in this period and "
            "3 in the days just before.",
            "consistency": "No one qualifies yet: it takes 3 scheduled days since your first "
            "answer.",
        }[kind]
        text = render.board_text(f"{title}, {where}, {label}:", rows, actor.user_id, empty=empty)
        return [Reply(text)]

    async def remind(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        enabled = cmd.args["enabled"]
        where = [actor.workspace_id]
        if actor.workspace_id.startswith(DM_WORKSPACE_PREFIX):
            platform = await self.store.tenancy.platform_of(actor.workspace_id) or "discord"
            shared = await self.store.team.workspaces_of(platform, actor.user_id)
            where = [w for w in shared if not w.startswith(DM_WORKSPACE_PREFIX)]
        await self.store.team.set_reminders(where, actor.user_id, enabled, self.use.clock.now())
        scope = (
            "here"
            if len(where) == 1 and where[0] == actor.workspace_id
            else (f"in {len(where)} server(s) you share with drillbot")
        )
        if enabled:
            return [Reply(f"Reminders are on {scope}: a private nudge before a daily closes.")]
        return [Reply(f"Reminders are off {scope}. `/drill remind on` turns them back on.")]

    async def _skipped_ahead(self, chan: ChannelRow, limit: int) -> list[str]:
        """The channel's next skipped dates (its own and its holidays), from today."""
        today = self.use.clock.now().astimezone(ZoneInfo(chan.timezone)).date()
        manual = await self.store.skips.manual(chan.workspace_id, chan.id, today)
        until = today + timedelta(days=calendar.SKIP_AHEAD_DAYS)
        holidays = calendar.holiday_dates(chan.holidays, today, until)
        return [
            d.isoformat() + (" (holiday)" if d in holidays and d not in manual else "")
            for d in sorted(set(manual) | holidays)[:limit]
        ]

    async def skip(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        chan = await self.use.tenants.channel_or_create(channel)
        today = self.use.clock.now().astimezone(ZoneInfo(chan.timezone)).date()
        action = cmd.args["action"]
        if action == "list":
            ahead = await self._skipped_ahead(chan, calendar.SKIP_AHEAD_DAYS)
            if not ahead:
                return [Reply("No skipped dates ahead here.")]
            return [Reply("Skipped dates ahead: " + ", ".join(ahead))]
        if action == "clear":
            day = cmd.args["date"]
            if await self.store.skips.clear(channel.workspace_id, channel.channel_id, day):
                return [Reply(f"{day} is no longer skipped here.")]
            if calendar.holiday_dates(chan.holidays, day, day):
                return [
                    Reply(
                        f"{day} is a public holiday of {chan.holidays}; "
                        "`/drill config holidays=none` stops skipping holidays."
                    )
                ]
            return [Reply(f"{day} was not skipped here.")]
        start, end = cmd.args["start"], cmd.args["end"]
        try:
            calendar.check_skip_range(start, end, today)
        except UsageError as exc:
            return [Reply(f"{exc}\n{usage('skip')}")]
        dates = calendar.days(start, end)
        await self.store.skips.add(
            channel.workspace_id, channel.channel_id, dates, actor.user_id, self.use.clock.now()
        )
        span = f"{start}" if start == end else f"{start} to {end} ({len(dates)} days)"
        note = (
            " A daily already posted today stays open and counts like an extra."
            if start == today
            else ""
        )
        return [Reply(f"Skipped here: {span}. No daily is posted; streaks are untouched.{note}")]

    async def history(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        rows = await self.store.answers.history(actor.workspace_id, actor.user_id)
        if not rows:
            return [Reply("No answers yet.")]
        lines = ["Your recent answers:"]
        for row in rows:
            score = (
                "not an answer, earns nothing"
                if row.status == "floored"
                else f"{row.score}/10" if row.score is not None else "grading…"
            )
            feedback = (row.detail or {}).get("feedback", "")
            when = row.answered_at.strftime("%Y-%m-%d")
            extra = f", {row.points} pts" if row.points is not None else ""
            lines.append(
                f"- #{row.id} {when} {row.question_id} ({row.kind}): {score}{extra}. {feedback}"
            )
        return [Reply("\n".join(lines))]

    async def regrade(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        if "answer" in cmd.args:
            answer = await self.store.answers.get(cmd.args["answer"], actor.workspace_id)
        else:
            answer = await self.store.answers.latest(actor.workspace_id, actor.user_id)
        if answer is None or answer.user_id != actor.user_id:
            return [Reply("No such answer of yours; `/drill history` lists them with numbers.")]
        rubric = stored_rubric(answer.rubric, self.use.bank.get(answer.question_id))
        if rubric is None:
            return [
                Reply(
                    f"Answer #{answer.id} cannot be re-graded: `{answer.question_id}` left the "
                    "question bank before its rubric was kept with answers."
                )
            ]
        if rubric.question.type == "mcq":
            return [Reply("Multiple-choice answers are exact; there is nothing to re-grade.")]
        if answer.override_by is not None:
            return [Reply(f"Answer #{answer.id} is final: an admin set its score.")]
        if answer.floor is not None:
            return [Reply(f"Answer #{answer.id} is not an answer yet; there is nothing to grade.")]
        done = await self.use.grading.regrade(answer, self.use.quota.charge(actor, "regrade"))
        if isinstance(done, Over):
            return self.use.quota.refusal(done)
        if done == "used":
            return [Reply(f"Answer #{answer.id} was already re-graded once.")]
        return [Reply(f"Re-grading answer #{answer.id}; the result comes to you privately.")]

    async def check(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        return await self.use.selfcheck.check(
            actor, cmd.args.get("answer"), flips=cmd.args["flips"]
        )

    async def privacy(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        await self.store.tenancy.set_privacy(actor.workspace_id, actor.user_id, cmd.args["mode"])
        shown = "without your name" if cmd.args["mode"] == "anonymous" else "with your name"
        return [Reply(f"Reveals and leaderboards now show you {shown}.")]

    async def forget_me(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        if not cmd.args["confirm"]:
            return [
                Reply(
                    "This deletes all your answers, grades, points and streaks in this "
                    "workspace, for good. Run `/drill forget-me confirm` to go ahead."
                )
            ]
        gone = await self.store.boards.forget(actor.workspace_id, actor.user_id)
        await self.store.team.forget(actor.workspace_id, actor.user_id)
        return [
            Reply(
                f"Done: {gone} answer(s) and everything about you in this workspace "
                "are deleted; boards no longer count them."
            )
        ]

    # -- admins -----------------------------------------------------------------------------

    async def _update(self, channel: ChannelRef, values: dict[str, Any]) -> list[Reply] | None:
        if refused := self._unknown_topic(*values.get("topics", ()), saved=True):
            return refused
        chan = await self.use.tenants.channel_or_create(channel)
        remind = values.get("remind_minutes", chan.remind_minutes)
        window = values.get("window_minutes", chan.window_minutes) or DEFAULT_WINDOW_MINUTES
        if remind is not None and remind > window:
            return [
                Reply(
                    f"remind={remind} min is longer than the window ({window} min): a "
                    "reminder comes at most a window before close; nothing saved."
                )
            ]
        await self.store.tenancy.update_channel(channel.workspace_id, channel.channel_id, **values)
        return None

    async def schedule(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        values = {**cmd.args, "schedule_since": self.use.clock.now(), "active": True}
        refused = await self._update(channel, values)
        return refused or await self.config(actor, channel, Command("config"))

    async def config(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        if cmd.args:
            refused = await self._update(channel, cmd.args)
            if refused:
                return refused
        chan = await self.use.tenants.channel_or_create(channel)
        window = (
            f"{chan.window_minutes} min" if chan.window_minutes else "until the next slot or 24h"
        )
        state = "paused" if chan.paused else ("active" if chan.active else "inactive")
        remind = f"{chan.remind_minutes} min before close" if chan.remind_minutes else "off"
        skipped = await self._skipped_ahead(chan, NEXT_SKIPS)
        return [
            Reply(
                "\n".join(
                    [
                        f"Settings of #{chan.name or chan.id} ({state}):",
                        f"  schedule: {chan.cron or 'none (run /drill schedule)'}"
                        f"  (default {DEFAULT_CRON})",
                        f"  tz: {chan.timezone}",
                        f"  topics: {', '.join(chan.topics) or 'all'}",
                        f"  difficulty: {chan.difficulty}",
                        f"  window: {window}",
                        f"  feedback: {chan.feedback}",
                        f"  remind: {remind}",
                        f"  digest: {'on' if chan.digest else 'off'}",
                        f"  holidays: {chan.holidays or 'none'}",
                        f"  next skipped dates: {', '.join(skipped) or 'none'}",
                    ]
                )
            )
        ]

    async def pause(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        await self._update(channel, {"paused": True})
        return [
            Reply(
                "Paused: no dailies here until `/drill resume`. Streaks are not broken by "
                "paused days."
            )
        ]

    async def resume(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        await self._update(
            channel, {"paused": False, "active": True, "schedule_since": self.use.clock.now()}
        )
        return [Reply("Resumed: the schedule runs again from now.")]

    async def post_now(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        await self.use.tenants.channel_or_create(channel)
        daily = await self.use.dailies.post_now(channel)
        return [] if daily else [Reply("Could not post here.")]

    async def override(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        answer = await self.store.answers.get(cmd.args["answer"], actor.workspace_id)
        if answer is None:
            return [Reply(f"No answer #{cmd.args['answer']} in this workspace.")]
        points = await self.use.grading.override(answer, cmd.args["score"], actor.user_id)
        note = f" ({points.breakdown()})" if points else ""
        adapter = await self.use.platforms.adapter_for(answer.workspace_id)
        await adapter.send_private(
            ChannelRef(answer.workspace_id, answer.channel_id),
            answer.user_id,
            f"An admin set the score of your answer #{answer.id} (`{answer.question_id}`) "
            f"to {cmd.args['score']}/10{note}.",
        )
        return [
            Reply(
                f"Answer #{answer.id} now scores {cmd.args['score']}/10{note}; "
                f"recorded as your override."
            )
        ]

    async def close_now(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        closed = await self.use.dailies.close_due(channel, force=True)
        return [] if closed else [Reply("No open daily in this channel.")]


HANDLERS: dict[str, Handler] = {
    "help": Commands.help,
    "practice": Commands.practice,
    "streak": Commands.streak,
    "leaderboard": Commands.leaderboard,
    "remind": Commands.remind,
    "skip": Commands.skip,
    "history": Commands.history,
    "privacy": Commands.privacy,
    "forget-me": Commands.forget_me,
    "schedule": Commands.schedule,
    "config": Commands.config,
    "pause": Commands.pause,
    "resume": Commands.resume,
    "regrade": Commands.regrade,
    "check": Commands.check,
    "mock": Commands.mock,
    "stats": Commands.stats,
    "export": Commands.export,
    "override": Commands.override,
    "post-now": Commands.post_now,
    "close-now": Commands.close_now,
}
