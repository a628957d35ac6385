"""`/drill` commands: each handler answers a parsed command with replies (errbot style).

Admin commands are refused here, whatever the platform showed the user, because Discord
cannot hide subcommands and a Slack command is visible to everyone.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import render
from bot.core.commands import SPECS, Command, UsageError, parse, usage
from bot.core.engine import DEFAULT_CRON, Engine
from bot.core.planner import plan_questions, topic_mastery
from bot.core.reviews import due_questions
from bot.core.types import Actor, ChannelRef, Reply
from bot.store import queries as q
from bot.store.tables import users

_log = logging.getLogger(__name__)
Handler = Callable[["Commands", Actor, ChannelRef, Command], Awaitable[list[Reply]]]


def period(scope: str, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the ISO week or calendar month containing `now`, in `tz`; all-time is
    unbounded."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if scope == "week":
        start = midnight - timedelta(days=local.isoweekday() - 1)
        end = start + timedelta(days=7)
    elif scope == "month":
        start = midnight.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        return None, None
    # zoneinfo datetimes keep wall time under arithmetic, so both stay local midnights
    # with the right offset even across a DST change.
    return start, end


class Commands:
    """Dispatches `/drill ...` text to its handler."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle(
        self, *, event_key: str, actor: Actor, channel: ChannelRef, text: str
    ) -> list[Reply]:
        try:
            command = parse(text)
        except UsageError as exc:
            return [Reply(str(exc))]
        if command.name in ADMIN and not self.engine.is_admin(actor):
            return [Reply(f"`/drill {command.name}` is for workspace admins.")]
        async with self.engine.db.write() as conn:
            if not await self.engine.record_event(conn, actor, event_key):
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
        known = {question.topic for question in self.engine.bank}
        unknown = sorted(t for t in topics if t is not None and t not in known)
        if not unknown:
            return []
        nothing = "; nothing saved" if saved else ""
        named = ", ".join(repr(t) for t in unknown)
        return [Reply(f"Unknown topic {named}{nothing}. Topics: {', '.join(sorted(known))}")]

    async def practice(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        """Due reviews first, then a new question from the user's weakest topic."""
        topic = cmd.args.get("topic")
        if refused := self._unknown_topic(topic):
            return refused
        if not await self.engine.practice_quota_left(actor):
            return self.engine.limit_reached()
        async with self.engine.db.read() as conn:
            planned = await plan_questions(
                conn,
                self.engine.bank,
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                now=self.engine.clock.now(),
                count=1,
                topic=topic,
                open_only=False,
            )
        if not planned:
            return [Reply("No question fits; try another topic.")]
        question = planned[0]
        await self.engine.start_practice(actor, channel, question)
        return [
            Reply(
                f"Practice [{question.topic} · {question.difficulty}]\n"
                f"{render.question_text(question)}\n"
                f"{render.how_to_answer(question, console=True)}"
            )
        ]

    async def mock(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        action = cmd.args.get("action")
        if action in ("hint", "skip", "stop", "resume"):
            return await self.engine.mock.command(actor, action)
        if refused := self._unknown_topic(cmd.args.get("topic")):
            return refused
        left = await self.engine.practice_quota_left(actor)
        if not left:
            return self.engine.limit_reached()
        return await self.engine.mock.start(
            actor,
            channel,
            topic=cmd.args.get("topic"),
            count=min(cmd.args.get("count", 5), left),
            difficulty=cmd.args.get("difficulty"),
            again=action == "again",
        )

    async def stats(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        now = self.engine.clock.now()
        async with self.engine.db.read() as conn:
            mastery = await topic_mastery(conn, self.engine.bank, actor.workspace_id, actor.user_id)
            due = len(await due_questions(conn, actor.workspace_id, actor.user_id, now))
            times = await q.activity(
                conn, actor.workspace_id, actor.user_id, now - timedelta(days=30)
            )
            tz = ZoneInfo(
                await q.workspace_timezone(conn, actor.workspace_id)
                or self.engine.config.default_timezone
            )
        lines = [f"Your stats: {due} review(s) due now."]
        lines += [
            f"  {topic}: {mean:.1f}/10 over {n} question(s)"
            for topic, (mean, n) in sorted(mastery.items(), key=lambda kv: kv[1][0])
        ]
        if not mastery:
            lines.append("  No graded answers yet: try `/drill practice` or `/drill mock`.")
        today = now.astimezone(tz).date()
        per_day = {today - timedelta(days=i): 0 for i in range(29, -1, -1)}
        for when in times:
            day = when.astimezone(tz).date()
            if day in per_day:
                per_day[day] += 1
        try:
            from bot.core.chart import stats_png

            png = await asyncio.to_thread(stats_png, mastery, sorted(per_day.items()))
        except ImportError:
            lines.append("(Install matplotlib for the chart.)")
        else:
            adapter = await self.engine.adapter_for(actor.workspace_id)
            await adapter.upload_file(
                channel,
                actor.user_id,
                f"drillbot-stats-{actor.user_id}-{today}.png",
                png,
                "Your drillbot stats",
            )
        return [Reply("\n".join(lines))]

    async def export(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        async with self.engine.db.read() as conn:
            data = await q.user_export(conn, actor.workspace_id, actor.user_id)
        body = json.dumps(data, indent=2, sort_keys=True).encode()
        adapter = await self.engine.adapter_for(actor.workspace_id)
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
        async with self.engine.db.read() as conn:
            chan = await q.get_channel(conn, channel.workspace_id, channel.channel_id)
        if chan is None:
            return [Reply("Streaks count in drill channels; run this in one.")]
        streak = await self.engine.streak(channel, actor.user_id)
        return [Reply(render.streak_text(chan.name or chan.id, streak))]

    async def leaderboard(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        scope, which = cmd.args["scope"], cmd.args["board"]
        async with self.engine.db.read() as conn:
            chan = await q.get_channel(conn, channel.workspace_id, channel.channel_id)
            if which == "channel" and chan is None:
                return [Reply("This is not a drill channel; try `/drill leaderboard workspace`.")]
            tz_name = (
                chan.timezone
                if which == "channel" and chan
                else await q.workspace_timezone(conn, channel.workspace_id)
            )
            start, end = period(
                scope,
                self.engine.clock.now(),
                ZoneInfo(tz_name or self.engine.config.default_timezone),
            )
            rows = await q.board(
                conn,
                channel.workspace_id,
                channel.channel_id if which == "channel" else None,
                start,
                end,
            )
        label = {"week": "this week", "month": "this month", "all": "all time"}[scope]
        where = f"#{chan.name or chan.id}" if which == "channel" and chan else "the workspace"
        return [Reply(render.board_text(f"Leaderboard, {where}, {label}:", rows, actor.user_id))]

    async def history(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        async with self.engine.db.read() as conn:
            rows = await q.history(conn, actor.workspace_id, actor.user_id)
        if not rows:
            return [Reply("No answers yet.")]
        lines = ["Your recent answers:"]
        for row in rows:
            score = f"{row.score}/10" if row.score is not None else "grading…"
            feedback = (row.detail or {}).get("feedback", "")
            when = row.answered_at.strftime("%Y-%m-%d")
            extra = f", {row.points} pts" if row.points is not None else ""
            lines.append(
                f"- #{row.id} {when} {row.question_id} ({row.kind}): {score}{extra}. {feedback}"
            )
        return [Reply("\n".join(lines))]

    async def regrade(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        async with self.engine.db.read() as conn:
            if "answer" in cmd.args:
                answer = await q.get_answer(conn, cmd.args["answer"], actor.workspace_id)
            else:
                answer = await q.latest_answer(conn, actor.workspace_id, actor.user_id)
        if answer is None or answer.user_id != actor.user_id:
            return [Reply("No such answer of yours; `/drill history` lists them with numbers.")]
        question = self.engine.bank.get(answer.question_id)
        if question is None or question.type == "mcq":
            return [Reply("Multiple-choice answers are exact; there is nothing to re-grade.")]
        if answer.override_by is not None:
            return [Reply(f"Answer #{answer.id} is final: an admin set its score.")]
        if not await self.engine.grading.regrade(answer):
            return [Reply(f"Answer #{answer.id} was already re-graded once.")]
        return [Reply(f"Re-grading answer #{answer.id}; the result comes to you privately.")]

    async def privacy(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        async with self.engine.db.write() as conn:
            await conn.execute(
                users.update()
                .where(users.c.workspace_id == actor.workspace_id, users.c.id == actor.user_id)
                .values(privacy=cmd.args["mode"])
            )
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
        async with self.engine.db.write() as conn:
            gone = await q.forget_user(conn, actor.workspace_id, actor.user_id)
        return [
            Reply(
                f"Done: {gone} answer(s) and everything about you in this workspace "
                "are deleted; boards no longer count them."
            )
        ]

    # -- admins -----------------------------------------------------------------------------

    async def _channel_or_create(self, channel: ChannelRef) -> q.ChannelRow:
        async with self.engine.db.read() as conn:
            chan = await q.get_channel(conn, channel.workspace_id, channel.channel_id)
        if chan is None:
            await self.engine.ensure_channel(channel, cron=None)
            async with self.engine.db.read() as conn:
                chan = await q.get_channel(conn, channel.workspace_id, channel.channel_id)
        assert chan is not None
        return chan

    async def _update(self, channel: ChannelRef, values: dict[str, Any]) -> list[Reply] | None:
        if refused := self._unknown_topic(*values.get("topics", ()), saved=True):
            return refused
        await self._channel_or_create(channel)
        async with self.engine.db.write() as conn:
            await q.update_channel(conn, channel.workspace_id, channel.channel_id, **values)
        return None

    async def schedule(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        values = {**cmd.args, "schedule_since": self.engine.clock.now(), "active": True}
        refused = await self._update(channel, values)
        return refused or await self.config(actor, channel, Command("config"))

    async def config(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        if cmd.args:
            refused = await self._update(channel, cmd.args)
            if refused:
                return refused
        chan = await self._channel_or_create(channel)
        window = (
            f"{chan.window_minutes} min" if chan.window_minutes else "until the next slot or 24h"
        )
        state = "paused" if chan.paused else ("active" if chan.active else "inactive")
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
            channel, {"paused": False, "active": True, "schedule_since": self.engine.clock.now()}
        )
        return [Reply("Resumed: the schedule runs again from now.")]

    async def post_now(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        await self._channel_or_create(channel)
        daily = await self.engine.post_now(channel)
        return [] if daily else [Reply("Could not post here.")]

    async def override(self, actor: Actor, channel: ChannelRef, cmd: Command) -> list[Reply]:
        async with self.engine.db.read() as conn:
            answer = await q.get_answer(conn, cmd.args["answer"], actor.workspace_id)
        if answer is None:
            return [Reply(f"No answer #{cmd.args['answer']} in this workspace.")]
        points = await self.engine.grading.override(answer, cmd.args["score"], actor.user_id)
        note = f" ({points.breakdown()})" if points else ""
        adapter = await self.engine.adapter_for(answer.workspace_id)
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
        closed = await self.engine.close_due(channel, force=True)
        return [] if closed else [Reply("No open daily in this channel.")]


ADMIN = {name for name, spec in SPECS.items() if spec.admin}
HANDLERS: dict[str, Handler] = {
    "help": Commands.help,
    "practice": Commands.practice,
    "streak": Commands.streak,
    "leaderboard": Commands.leaderboard,
    "history": Commands.history,
    "privacy": Commands.privacy,
    "forget-me": Commands.forget_me,
    "schedule": Commands.schedule,
    "config": Commands.config,
    "pause": Commands.pause,
    "resume": Commands.resume,
    "regrade": Commands.regrade,
    "mock": Commands.mock,
    "stats": Commands.stats,
    "export": Commands.export,
    "override": Commands.override,
    "post-now": Commands.post_now,
    "close-now": Commands.close_now,
}
