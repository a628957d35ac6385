"""Discord events in, core calls out: who acts, where, under which idempotency key.

- Workspace: the guild id; a DM has no guild, and DM activity (practice, later mock) belongs
  to the user (`discord-dm-<user id>`), never to a guild board. `/drill practice` run in a
  server is moved to the user's DM for the same reason.
- Idempotency keys: `discord-m-<message id>` for a new message, `discord-e-<message id>-<edit
  time>` for an edit (so an edit is never taken for a redelivery), `discord-i-<interaction id>`
  for an interaction. The core records them with their effect, so a duplicate delivery and
  the catch-up after a reconnect are harmless.
- Deadlines: a slash command is deferred (ephemeral, "thinking") before anything else and
  answered with follow-ups; a button opens its form at once; a form submission or a choice
  click carries an answer: it is committed first, then deferred without a visible message
  (so a deferred answer is never lost; `bot.platforms.common.storefirst`), then answered
  ephemerally. A commit still waiting at the deadline is deferred anyway (Discord never
  resends an interaction) and the user is told if it then fails.
- Admins: Manage Server (or Administrator) in the interaction's member permissions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import discord

from bot.domain.answers import MAX_DELIVERY_DELAY
from bot.domain.commands import ADMIN
from bot.domain.types import Actor, ChannelRef, Reply, Stored
from bot.platforms.common.dm import DmRefused, dm_only, moved_to_dm
from bot.platforms.common.replies import ReplyOnce
from bot.platforms.common.storefirst import store_first
from bot.platforms.discord.outbound import COMMAND, DiscordAdapter, send_parts
from bot.platforms.discord.views import form_submission
from bot.ports import Inbound

_log = logging.getLogger(__name__)

PLATFORM = "discord"
#: Commands about all of a user's data: run in the server and in the user's DM workspace.
USER_WIDE = frozenset({"forget-me", "export"})
FAILED = "Something went wrong on drillbot's side; it has been logged. Please try again."
DM_REFUSED = (
    "I could not send you a direct message. Allow direct messages from this server's members "
    "(Privacy Settings), then run the command again."
)


def dm_workspace(user_id: int) -> str:
    return f"discord-dm-{user_id}"


def is_admin(interaction: discord.Interaction) -> bool:
    """Manage Server, read from the permissions Discord resolved for this member."""
    perms = interaction.permissions
    return interaction.guild_id is not None and (perms.manage_guild or perms.administrator)


class Lanes:
    """Per-user order. discord.py runs every event handler as a task of its own, so two
    messages of one user could reach the core in the wrong order (and the second would count
    as the answer). Each user's events pass one of a fixed set of locks, which asyncio hands
    out first come, first served; a handler takes its lock before its first await."""

    def __init__(self, count: int = 64) -> None:
        self._locks = [asyncio.Lock() for _ in range(count)]

    def of(self, user_id: int) -> asyncio.Lock:
        return self._locks[user_id % len(self._locks)]


class Bridge:
    """The core's inbound interface, fed from discord.py events."""

    def __init__(self, core: Inbound, adapter: DiscordAdapter, message_content: bool) -> None:
        self.core = core
        self.adapter = adapter
        self.client = adapter.client
        self.message_content = message_content
        self.lanes = Lanes()
        self._known: set[str] = set()
        self.reply_once = ReplyOnce(core)
        #: Answers in flight after their deferral (their replies still to send).
        self._deliveries: set[asyncio.Task[None]] = set()

    # -- workspaces ---------------------------------------------------------------------------

    async def on_guild(self, guild: discord.Guild, installed: bool) -> None:
        """A guild the bot is in (again) gets its workspace; leaving one stops its schedules."""
        workspace = str(guild.id)
        if installed:
            await self.core.ensure_workspace(workspace, PLATFORM, guild.name)
            self._known.add(workspace)
        await self.core.set_workspace_active(workspace, installed)

    async def _workspace(self, workspace: str, name: str) -> str:
        if workspace not in self._known:
            await self.core.ensure_workspace(workspace, PLATFORM, name)
            self._known.add(workspace)
        return workspace

    async def _dm(
        self, user: discord.User | discord.Member
    ) -> tuple[Actor, ChannelRef, discord.DMChannel]:
        """The user's own workspace and DM channel."""
        workspace = await self._workspace(dm_workspace(user.id), f"DM {user.name}")
        channel = user.dm_channel or await user.create_dm()
        actor = Actor(workspace, str(user.id), user.display_name)
        return actor, ChannelRef(workspace, str(channel.id)), channel

    # -- slash commands -----------------------------------------------------------------------

    def topics(self) -> Iterable[str]:
        return self.core.topics()

    async def run_command(self, interaction: discord.Interaction, name: str, text: str) -> None:
        if not await _acknowledge(interaction, thinking=True):
            return
        try:
            replies = await self._command(interaction, name, text)
        except Exception:
            _log.exception("/drill %s failed (interaction %s)", name, interaction.id)
            replies = [Reply(FAILED)]
        await _follow_up(interaction, replies or [Reply("Done.")])

    async def _command(self, interaction: discord.Interaction, name: str, text: str) -> list[Reply]:
        key = f"discord-i-{interaction.id}"
        user = interaction.user
        self.adapter.remember_interaction(str(user.id), COMMAND, interaction)
        if interaction.guild_id is None or dm_only(name):
            actor, ref, dm = await self._dm(user)
            replies = await self.core.command(event_key=key, actor=actor, channel=ref, text=text)
            if interaction.guild_id is None:
                return replies
            return await moved_to_dm(replies, lambda moved: _send_dm(dm, moved), DM_REFUSED)
        guild = interaction.guild
        workspace = await self._workspace(str(interaction.guild_id), guild.name if guild else "")
        channel = interaction.channel
        channel_id = (
            channel.parent_id if isinstance(channel, discord.Thread) else interaction.channel_id
        )
        ref = ChannelRef(workspace, str(channel_id))
        actor = Actor(workspace, str(user.id), user.display_name, is_admin=is_admin(interaction))
        if name in ADMIN and actor.is_admin and channel_id is not None:
            parent = self.client.get_channel(channel_id)
            await self.core.ensure_channel(ref, name=getattr(parent, "name", ""), cron=None)
        replies = await self.core.command(event_key=key, actor=actor, channel=ref, text=text)
        if name in USER_WIDE:
            # The user's practice and mock data lives in their DM workspace: cover it too.
            dm_actor, dm_ref, _dm = await self._dm(user)
            replies += await self.core.command(
                event_key=f"{key}-dm", actor=dm_actor, channel=dm_ref, text=text
            )
        return replies

    # -- buttons and forms ----------------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer-form submissions (the only interactions not dispatched by discord.py)."""
        submitted = form_submission(interaction)
        if submitted is not None:
            daily_id, text = submitted
            await self._private_answer(interaction, daily_id, text, choice=False)

    async def on_choice(self, interaction: discord.Interaction, daily_id: int, letter: str) -> None:
        await self._private_answer(interaction, daily_id, letter, choice=True)

    async def on_check(
        self, interaction: discord.Interaction, answer_id: int, covered: list[int]
    ) -> None:
        """A self-check select changed: practice and mock answers live in the user's DM
        workspace, wherever the select is shown."""
        if not await _acknowledge(interaction, thinking=False):
            return
        actor, _ref, _dm = await self._dm(interaction.user)
        try:
            replies = await self.core.on_self_check(
                event_key=f"discord-i-{interaction.id}",
                actor=actor,
                answer_id=answer_id,
                covered=covered,
            )
        except Exception:
            _log.exception("self-check of answer %s failed", answer_id)
            replies = [Reply(FAILED)]
        await _follow_up(interaction, replies)

    async def _private_answer(
        self, interaction: discord.Interaction, daily_id: int, text: str, choice: bool
    ) -> None:
        if interaction.guild_id is None:
            await _acknowledge(interaction, thinking=False)
            return  # dailies live in servers; a DM has no daily to answer
        user = interaction.user
        guild = interaction.guild
        deferred = asyncio.Event()

        async def answer(on_stored: Stored) -> list[Reply]:
            """A failure is told to the user (after the deferral), before or after it."""
            try:
                name = guild.name if guild else ""
                workspace = await self._workspace(str(interaction.guild_id), name)
                return await self.core.on_private_answer(
                    event_key=f"discord-i-{interaction.id}",
                    actor=Actor(workspace, str(user.id), user.display_name),
                    daily_id=daily_id,
                    text=text,
                    choice=choice,
                    on_stored=on_stored,
                )
            except Exception:
                _log.exception("answer to daily %s failed", daily_id)
                return [Reply(FAILED)]

        async def reply(replies: list[Reply]) -> None:
            await deferred.wait()
            await _follow_up(interaction, replies)

        delivery = await store_first(answer, reply)
        self._deliveries.add(delivery.task)
        delivery.task.add_done_callback(self._deliveries.discard)
        if not await _acknowledge(interaction, thinking=False):
            return
        if interaction.message is not None:
            # The core's feedback for this daily then goes through this token, ephemerally.
            self.adapter.remember_interaction(
                str(user.id), str(interaction.message.id), interaction
            )
        deferred.set()

    # -- messages -------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        async with self.lanes.of(message.author.id):
            if message.guild is None:
                await self._direct(message)
            elif self.message_content:
                await self._thread_message(message, edited=False)

    async def on_edit(self, message: discord.Message) -> None:
        """A real edit (it has an edit time; embed unfurls do not) of a thread message."""
        if message.author.bot or message.guild is None or message.edited_at is None:
            return
        if self.message_content:
            async with self.lanes.of(message.author.id):
                await self._thread_message(message, edited=True)

    async def _direct(self, message: discord.Message) -> None:
        """A DM answers the user's practice question."""
        actor, ref, _ = await self._dm(message.author)
        key = f"discord-m-{message.id}"
        replies = await self.core.on_loose_message(
            event_key=key, actor=actor, channel=ref, text=message.content
        )

        async def deliver(shown: list[Reply]) -> None:
            for reply in shown:
                await send_parts(message.channel.send, reply.text, reply.check)

        await self.reply_once.send(actor.workspace_id, key, replies, deliver)

    async def _thread_of(self, channel: object) -> discord.Thread | None:
        if isinstance(channel, discord.Thread):
            return channel
        if isinstance(channel, discord.PartialMessageable):  # not cached: ask Discord
            try:
                fetched = await self.client.fetch_channel(channel.id)
            except discord.HTTPException as exc:
                _log.warning("channel %s of a message is unknown: %s", channel.id, exc)
                return None
            return fetched if isinstance(fetched, discord.Thread) else None
        return None

    async def _thread_message(self, message: discord.Message, edited: bool) -> None:
        """A message in a thread: the core decides whether it answers a daily (it does when
        the thread is a daily's and it is the user's first reply, or an edit of it)."""
        assert message.guild is not None
        thread = await self._thread_of(message.channel)
        if thread is None:
            return
        workspace = await self._workspace(str(message.guild.id), message.guild.name)
        ref = ChannelRef(workspace, str(thread.parent_id))
        key = (
            f"discord-e-{message.id}-{message.edited_at.timestamp()}"
            if edited and message.edited_at
            else f"discord-m-{message.id}"
        )
        actor = Actor(workspace, str(message.author.id), message.author.display_name)
        replies = await self.core.on_thread_message(
            event_key=key,
            actor=actor,
            channel=ref,
            thread_id=str(thread.id),
            text=message.content,
            message_id=str(message.id),
            edited=edited,
            sent_at=(message.edited_at if edited else None) or message.created_at,
        )

        async def deliver(shown: list[Reply]) -> None:
            for reply in shown:  # a refusal (too long...) is for the author only: by DM
                await self.adapter.direct_message(message.author.id, reply.text)

        # The catch-up replays whole threads: a refusal must not be sent again.
        await self.reply_once.send(workspace, key, replies, deliver)

    # -- catch-up ---------------------------------------------------------------------------------

    async def catch_up(self, shard_id: int) -> None:
        """After a (re)connect that started a new session, Discord does not replay what was
        said meanwhile: read the threads of this shard's open dailies, and of those closed
        while we may have been away, and feed every message to the core (its idempotency
        keys skip what was already seen; a message's own send time decides if it was on
        time)."""
        if not self.message_content:
            return  # thread replies are not answers without the Message Content intent
        guilds = {str(g.id) for g in self.client.guilds if g.shard_id == shard_id}
        if not guilds:
            return
        since = self.core.now() - MAX_DELIVERY_DELAY
        for thread_id in await self.core.recent_threads(sorted(guilds), since):
            try:
                await self._replay_thread(int(thread_id))
            except discord.HTTPException as exc:
                _log.warning("catch-up of the daily thread %s failed: %s", thread_id, exc)

    async def _replay_thread(self, thread_id: int) -> None:
        thread = await self.client.fetch_channel(thread_id)
        if not isinstance(thread, discord.Thread):
            return
        async for message in thread.history(limit=None, oldest_first=True):
            if not message.author.bot:
                async with self.lanes.of(message.author.id):
                    await self._thread_message(message, edited=message.edited_at is not None)


async def _acknowledge(interaction: discord.Interaction, thinking: bool) -> bool:
    """Defer within Discord's 3 s; False when Discord refuses (a duplicate delivery of an
    interaction already answered, or an expired one), and the event is then dropped."""
    try:
        await interaction.response.defer(ephemeral=True, thinking=thinking)
    except discord.HTTPException as exc:
        _log.info("interaction %s not acknowledged: %s", interaction.id, exc)
        return False
    return True


async def _send_dm(dm: discord.DMChannel, replies: list[Reply]) -> None:
    try:
        for reply in replies:
            await send_parts(dm.send, reply.text, reply.check)
    except discord.HTTPException as exc:
        raise DmRefused(str(exc)) from exc


async def _follow_up(interaction: discord.Interaction, replies: list[Reply]) -> None:
    try:
        for reply in replies:
            await send_parts(interaction.followup.send, reply.text, reply.check, ephemeral=True)
    except discord.HTTPException as exc:
        _log.warning("follow-up of interaction %s failed: %s", interaction.id, exc)
