"""Slack deliveries (events, `/drill`, buttons, the modal) translated into calls of the core.

Acknowledgement after the commit: the app runs with `process_before_response`, so bolt
answers Slack's HTTP request (or Socket Mode envelope) only when a listener returns. A
listener carrying an answer (a thread reply, its edit, a DM, the modal, an MCQ click) runs the
core's call in a task of its own and returns once the answer is committed
(`bot.platforms.common.storefirst`); grading and replies go on in that task. When the commit
fails or is not done within the deadline, the listener raises: Slack gets a 500 and
redelivers, so an acknowledged answer is never lost. Everything else (commands, the Answer
button, App Home) acknowledges first and works in a task, so a slow grader or Web API never
delays the 3-second ack. The workspace is always bolt's authorized team (from the signed or
Socket Mode payload), never anything a user typed.

Deduplication: Slack redelivers (X-Slack-Retry-Num) whenever it did not see our ack in time.
Redeliveries of an `event_id` handled lately are dropped at once (one whose first delivery is
still storing, or was refused, goes through); the core dedupes what has an effect,
atomically with it, under keys of the message's identity: channel+ts for a message, plus the
edit's ts for an edit (so an edit is never taken for a retry), the trigger id for an
interaction. Replies the core sends back
without recording (a refusal, "no question is open") go through
`bot.platforms.common.replies.ReplyOnce`, so a retry never repeats one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.domain.commands import ADMIN, parse
from bot.domain.types import Actor, ChannelRef, Reply, Stored
from bot.errors import UsageError
from bot.platforms.common.cache import BoundedCache
from bot.platforms.common.dm import dm_only, moved_to_dm
from bot.platforms.common.replies import ReplyOnce
from bot.platforms.common.storefirst import Call, Then, log_failure, store_first
from bot.platforms.slack import blocks
from bot.platforms.slack.api import SlackApi, UserDirectory
from bot.platforms.slack.home import home_view_of
from bot.platforms.slack.outbound import SlackAdapter
from bot.ports import Inbound

_log = logging.getLogger(__name__)

#: Message subtypes that carry a user's words.
USER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
#: Redeliveries come within minutes (Slack retries after about 0, 1 and 5 minutes).
SEEN_TTL = 15 * 60.0
SEEN_MAX = 50_000


def unescape(text: str) -> str:
    """Slack sends message text with &, <, > as entities; the core stores what was typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class NotAcknowledged(Exception):
    """An answer was not committed in time: bolt answers 500 and Slack redelivers it."""


class Inflight:
    """Delivery tasks still running, so a stop can let them finish (bounded)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, task: asyncio.Task[Any]) -> None:
        if task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def spawn(self, work: Awaitable[None]) -> None:
        """Work that goes on after the acknowledgement (a failure is logged)."""
        task = asyncio.ensure_future(work)
        task.add_done_callback(log_failure)
        self.add(task)

    async def wait(self, grace: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)


class SlackEvents:
    def __init__(
        self,
        *,
        core: Inbound,
        adapter: SlackAdapter,
        api: SlackApi,
        users: UserDirectory,
        on_uninstall: Callable[[str], Awaitable[None]],
    ) -> None:
        self.core = core
        self.adapter = adapter
        self.api = api
        self.users = users
        self.on_uninstall = on_uninstall
        self.reply_once = ReplyOnce(core)
        #: event_ids handled lately (answer committed), so a redelivery is acked and dropped.
        self.recent: BoundedCache[str, bool] = BoundedCache(SEEN_MAX, SEEN_TTL)
        self.inflight = Inflight()

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.drop_redeliveries)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("app_uninstalled")(self.on_app_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)
        app.command("/drill")(self.on_command)
        app.action(blocks.ANSWER_ACTION)(self.on_answer_button)
        app.action(re.compile(f"^{blocks.CHOICE_ACTION_PREFIX}[A-Z]$"))(self.on_choice)
        app.view(blocks.ANSWER_MODAL)(self.on_modal_submitted)
        app.action(blocks.CHECK_ACTION)(self.on_check)

    async def drop_redeliveries(
        self, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Ack a redelivery of an event already handled here at once. An event is marked
        handled only once its answer is committed: a redelivery arriving while the first
        delivery is still storing goes through the core too (which dedupes it by its key),
        so it is never acknowledged for an answer that is not committed yet."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and f"{body.get('team_id')}:{event_id}" in self.recent:
            return BoltResponse(status=200, body="")
        await next()
        return None

    # -- messages -----------------------------------------------------------------------------

    async def on_message(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        team: str = context.team_id
        subtype = event.get("subtype")
        edited = subtype == "message_changed"
        message = event.get("message", {}) if edited else event
        if not edited and subtype not in USER_SUBTYPES:
            return
        user = message.get("user")
        if not user or message.get("bot_id") or message.get("subtype") == "bot_message":
            return
        if edited and not message.get("edited"):
            return  # an unfurl or a reply count changed: not the user's words
        channel = ChannelRef(team, event["channel"])
        ts, thread_ts = message["ts"], message.get("thread_ts")
        key = f"slack:{channel.channel_id}:{ts}"
        if edited:
            key += f":edit:{message['edited']['ts']}"
        text = unescape(message.get("text") or "")
        seen = f"{team}:{body.get('event_id')}"
        if thread_ts and thread_ts != ts:

            async def in_thread(on_stored: Stored) -> list[Reply]:
                return await self.core.on_thread_message(
                    event_key=key,
                    actor=await self.users.actor(team, user),
                    channel=channel,
                    thread_id=thread_ts,
                    text=text,
                    message_id=ts,
                    edited=edited,
                    sent_at=_slack_time(message["edited"]["ts"] if edited else ts),
                    on_stored=on_stored,
                )

            await self._store_first(
                in_thread, self._replier(key, team, user, channel, thread_ts), seen
            )
        elif event.get("channel_type") == "im" and not edited:

            async def direct(on_stored: Stored) -> list[Reply]:
                return await self.core.on_loose_message(
                    event_key=key,
                    actor=await self.users.actor(team, user),
                    channel=channel,
                    text=text,
                    on_stored=on_stored,
                )

            await self._store_first(direct, self._replier(key, team, user, channel), seen)
        # anything else is channel chatter: not ours to read

    # -- /drill -------------------------------------------------------------------------------

    async def on_command(self, ack: Any, command: dict[str, Any], context: Any) -> None:
        await ack()
        self.inflight.spawn(self._command(command, context.team_id))

    async def _command(self, command: dict[str, Any], team: str) -> None:
        text = command.get("text") or ""
        actor = await self.users.actor(team, command["user_id"])
        channel = ChannelRef(team, command["channel_id"])
        name = _command_name(text)
        if name in ADMIN and self.core.is_admin(actor):
            await self.core.ensure_channel(channel, name=_channel_name(command), cron=None)
        key = f"slack:cmd:{command['trigger_id']}"
        target = channel
        if dm_only(name):
            target = ChannelRef(team, await self.adapter.open_dm(team, actor.user_id))
        replies = await self.core.command(event_key=key, actor=actor, channel=target, text=text)
        if target != channel:
            replies = await moved_to_dm(
                replies, lambda moved: self._reply_privately(key, actor, target, moved)
            )
        if replies:
            message = blocks.text_message(_joined(replies))
            await self.api.respond(team, command["response_url"], message.text, message.blocks)

    # -- buttons and the modal ----------------------------------------------------------------

    async def on_answer_button(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any
    ) -> None:
        """Open the modal at once: the trigger id is valid for 3 seconds only."""
        await ack()
        self.inflight.spawn(self._open_form(body, action, context.team_id))

    async def _open_form(self, body: dict[str, Any], action: dict[str, Any], team: str) -> None:
        question = await self.core.daily_question(team, int(action["value"]))
        channel_id, thread_ts = _container(body)
        if question is None:
            actor = Actor(team, body["user"]["id"])
            await self._reply_privately(
                f"slack:act:{body['trigger_id']}",
                actor,
                ChannelRef(team, channel_id),
                [Reply("That question no longer exists.")],
                thread_ts,
            )
            return
        where = blocks.ModalContext(int(action["value"]), channel_id, thread_ts)
        await self.adapter.open_modal(
            team, body["trigger_id"], blocks.answer_modal(question, where)
        )

    async def on_modal_submitted(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        value = view["state"]["values"][blocks.ANSWER_BLOCK][blocks.ANSWER_INPUT].get("value")
        text = (value or "").strip()
        if not text or len(text) > blocks.MAX_ANSWER:
            problem = (
                "Write an answer first."
                if not text
                else f"{len(text)} characters; the limit is {blocks.MAX_ANSWER}. Shorten it: "
                "your text stays here."
            )
            await ack(response_action="errors", errors={blocks.ANSWER_BLOCK: problem})
            return
        team: str = context.team_id
        user: str = body["user"]["id"]
        where = blocks.ModalContext.load(view["private_metadata"])
        key = f"slack:view:{view['id']}:{view.get('hash', '')}"

        async def submitted(on_stored: Stored) -> list[Reply]:
            return await self.core.on_private_answer(
                event_key=key,
                actor=await self.users.actor(team, user),
                daily_id=where.daily_id,
                text=text,
                on_stored=on_stored,
            )

        channel = ChannelRef(team, where.channel_id)
        await self._store_first(submitted, self._replier(key, team, user, channel, where.thread_ts))
        await ack()

    async def on_choice(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any
    ) -> None:
        team: str = context.team_id
        user: str = body["user"]["id"]
        daily_id, _, letter = str(action["value"]).partition(":")
        channel_id, thread_ts = _container(body)
        key = f"slack:act:{body['trigger_id']}"

        async def clicked(on_stored: Stored) -> list[Reply]:
            return await self.core.on_private_answer(
                event_key=key,
                actor=await self.users.actor(team, user),
                daily_id=int(daily_id),
                text=letter,
                choice=True,
                on_stored=on_stored,
            )

        channel = ChannelRef(team, channel_id)
        await self._store_first(clicked, self._replier(key, team, user, channel, thread_ts))
        await ack()

    async def on_check(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any
    ) -> None:
        """A tick or untick in a self-check's checkboxes: the group's whole state goes to the
        core, so a redelivered click changes nothing."""
        await ack()
        if (task := asyncio.current_task()) is not None:
            self.inflight.add(task)  # a stop lets it finish (bounded)
        team: str = context.team_id
        answer_id, ticked = blocks.checked(action)
        actor = await self.users.actor(team, body["user"]["id"])
        channel_id, thread_ts = _container(body)
        key = f"slack:act:{body['trigger_id']}"
        replies = await self.core.on_self_check(
            event_key=key, actor=actor, answer_id=answer_id, covered=ticked
        )
        await self._reply_privately(key, actor, ChannelRef(team, channel_id), replies, thread_ts)

    # -- App Home and uninstall ---------------------------------------------------------------

    async def on_home_opened(self, event: dict[str, Any], context: Any) -> None:
        if event.get("tab") == "home":
            self.inflight.spawn(self._publish_home(context.team_id, event["user"]))

    async def _publish_home(self, team: str, user: str) -> None:
        view = home_view_of(await self.core.home(team, user))
        await self.adapter.publish_home(team, user, view)

    async def on_app_uninstalled(self, body: dict[str, Any]) -> None:
        await self.on_uninstall(str(body["team_id"]))

    async def on_tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Only bot tokens are kept; a revoked bot token ends the installation."""
        if (event.get("tokens") or {}).get("bot"):
            await self.on_uninstall(str(body["team_id"]))

    # -- acknowledgement and replies ------------------------------------------------------------

    async def _store_first(self, call: Call, then: Then, seen: str | None = None) -> None:
        """Return (so bolt acknowledges) once the delivery's answer is committed; raise
        when it is not. `seen`: the event's key among recent deliveries, marked then."""
        delivery = await store_first(call, then)
        self.inflight.add(delivery.task)
        if not delivery.safe:
            raise NotAcknowledged("the answer was not committed in time") from delivery.error
        if seen is not None:
            self.recent.put(seen, True)

    def _replier(
        self, key: str, team: str, user: str, channel: ChannelRef, thread_ts: str | None = None
    ) -> Then:
        async def reply(replies: list[Reply]) -> None:
            actor = await self.users.actor(team, user)
            await self._reply_privately(key, actor, channel, replies, thread_ts)

        return reply

    # -- replies ------------------------------------------------------------------------------

    async def _reply_privately(
        self,
        key: str,
        actor: Actor,
        channel: ChannelRef,
        replies: list[Reply],
        thread_ts: str | None = None,
    ) -> None:
        """Show the core's replies to the user alone, once per event key."""

        async def deliver(shown: list[Reply]) -> None:
            check = next((r.check for r in shown if r.check), None)
            await self.adapter.send_private(
                channel, actor.user_id, _joined(shown), thread_ts, check=check
            )

        await self.reply_once.send(actor.workspace_id, key, replies, deliver)


def _joined(replies: list[Reply]) -> str:
    return "\n\n".join(reply.text for reply in replies)


def _command_name(text: str) -> str | None:
    try:
        return parse(text).name
    except UsageError:
        return None


def _channel_name(command: dict[str, Any]) -> str:
    """Slack names DMs and private groups generically; those names are not worth keeping."""
    name = str(command.get("channel_name") or "")
    return "" if name in {"directmessage", "privategroup", "mpdm"} else name


def _container(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and ts of the message whose button was clicked (the daily)."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    return str(channel), str(container.get("message_ts", ""))


def _slack_time(ts: str) -> datetime | None:
    """A Slack `ts` ("1700000000.000100") as the moment it stands for."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError):
        return None
