"""The Discord side of the core's `Adapter` port: what the core asks Discord to show.

discord.py's HTTP client stays in charge of REST rate limits (it waits out every 429 for the
`retry_after` Discord sends); this module adds what the core needs on top: idempotent daily
posts (nonce from the reservation key, and the key in the embed footer for `find_daily`),
`ChannelUnavailable` for a channel Discord refuses, ephemeral feedback (and files) through the
follow-up token of the interaction that carried the answer or the command (a DM when there is
none, or it expired), and mentions disabled on every send (the client's default
`AllowedMentions.none()`).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import discord

from bot.domain.selfcheck import CheckView
from bot.domain.types import ChannelRef, DailyPost, Digest, Reveal
from bot.errors import ChannelUnavailable
from bot.platforms.common.cache import BoundedCache
from bot.platforms.common.files import safe_filename
from bot.platforms.common.text import discord_escape
from bot.platforms.discord import render as look
from bot.platforms.discord.views import check_view, daily_view

_log = logging.getLogger(__name__)

#: Interaction tokens take follow-ups for 15 minutes; keep a margin.
FOLLOWUP_WINDOW = timedelta(minutes=14)
#: How far back `find_daily` looks for a post sent before a crash.
FIND_DEPTH = 50
UNKNOWN_CHANNEL = 10003
#: Answers and commands whose interaction is kept for private output.
REMEMBERED_INTERACTIONS = 10_000
#: The thread key under which a command's interaction is remembered (files it produces).
COMMAND = "/drill"


@contextlib.contextmanager
def refused_as_unavailable(ref: ChannelRef) -> Iterator[None]:
    """Forbidden, or Unknown Channel, means the core should stop posting there."""
    try:
        yield
    except discord.Forbidden as exc:
        raise ChannelUnavailable(ref, f"forbidden: {exc.text or exc.status}") from exc
    except discord.NotFound as exc:
        if exc.code != UNKNOWN_CHANNEL:
            raise
        raise ChannelUnavailable(ref, "unknown channel") from exc


class DiscordAdapter:
    """Posts, threads, reveals, private feedback, reactions and admin notices on Discord."""

    platform = "discord"

    def __init__(self, client: discord.Client, message_content: bool) -> None:
        self.client = client
        self.message_content = message_content
        #: (user id, thread id) -> the interaction that carried the answer, for ephemerals.
        self.interactions: BoundedCache[tuple[str, str], discord.Interaction] = BoundedCache(
            REMEMBERED_INTERACTIONS
        )

    # -- what the bridge tells the adapter ------------------------------------------------

    def remember_interaction(
        self, user_id: str, thread_id: str, interaction: discord.Interaction
    ) -> None:
        """Private output for this user about this thread (or `COMMAND`, for files a command
        produces) goes through this interaction while its token is valid."""
        self.interactions.put((user_id, thread_id), interaction)

    def _token(self, user_id: str, thread_id: str) -> discord.Interaction | None:
        interaction = self.interactions.get((user_id, thread_id))
        if interaction is None:
            return None
        fresh = discord.utils.utcnow() - interaction.created_at < FOLLOWUP_WINDOW
        return interaction if fresh else None

    # -- the port ---------------------------------------------------------------------------

    async def _text_channel(self, ref: ChannelRef) -> discord.TextChannel:
        channel_id = int(ref.channel_id)
        with refused_as_unavailable(ref):
            channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(
                channel_id
            )
        if not isinstance(channel, discord.TextChannel):
            kind = getattr(channel, "type", type(channel).__name__)
            raise ChannelUnavailable(ref, f"not a text channel ({kind})")
        return channel

    async def post_daily(self, post: DailyPost) -> str:
        channel = await self._text_channel(post.channel)
        with refused_as_unavailable(post.channel):
            message = await channel.send(
                embed=look.daily_embed(post, self.message_content),
                view=daily_view(post),
                nonce=look.nonce(post.key),
            )
        await self._open_thread(message, post)
        return str(message.id)

    async def find_daily(self, post: DailyPost) -> str | None:
        """A post of this daily among the channel's recent messages (its key is in the embed
        footer); its thread is opened if the crash came between the post and the thread."""
        channel = await self._text_channel(post.channel)
        me = self.client.user
        with refused_as_unavailable(post.channel):
            async for message in channel.history(limit=FIND_DEPTH):
                if me is None or message.author.id != me.id:
                    continue
                if any(embed.footer.text == post.key for embed in message.embeds):
                    if message.thread is None:
                        await self._open_thread(message, post)
                    return str(message.id)
        return None

    async def _open_thread(self, message: discord.Message, post: DailyPost) -> None:
        """The daily's thread (same id as the message). Without the permission to create it
        the daily still works through its buttons, so that is logged, not raised; any other
        failure is raised and the core's retry finds the post and opens the thread."""
        try:
            await message.create_thread(
                name=look.thread_name(post), auto_archive_duration=look.THREAD_ARCHIVE_MINUTES
            )
        except discord.Forbidden:
            _log.warning("no permission to open a thread in channel %s", post.channel.channel_id)

    async def post_reveal(self, reveal: Reveal) -> None:
        """The reveal goes in the daily's thread; if the thread is gone or locked, it answers
        the daily message in the channel instead."""
        embed = look.reveal_embed(reveal)
        thread = self.client.get_partial_messageable(
            int(reveal.thread_id), guild_id=int(reveal.channel.workspace_id)
        )
        try:
            await thread.send(embed=embed)
            return
        except (discord.Forbidden, discord.NotFound) as exc:
            _log.warning("reveal of daily %s not sent in its thread: %s", reveal.daily_id, exc)
        channel = await self._text_channel(reveal.channel)
        with refused_as_unavailable(reveal.channel):
            await channel.send(
                embed=embed,
                reference=discord.MessageReference(
                    message_id=int(reveal.thread_id),
                    channel_id=int(reveal.channel.channel_id),
                    fail_if_not_exists=False,
                ),
            )

    async def post_digest(self, digest: Digest) -> str:
        channel = await self._text_channel(digest.channel)
        with refused_as_unavailable(digest.channel):
            message = await channel.send(
                embed=look.digest_embed(digest), nonce=look.nonce(digest.key)
            )
        return str(message.id)

    async def send_dm(self, channel: ChannelRef, user_id: str, text: str) -> None:
        if not await self.direct_message(int(user_id), text):
            raise ConnectionError(f"user {user_id} takes no DMs from drillbot")

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None:
        thread = self.client.get_partial_messageable(int(thread_id))
        with refused_as_unavailable(channel):
            for part in look.content_parts(text):
                await thread.send(part)

    async def send_private(
        self,
        channel: ChannelRef,
        user_id: str,
        text: str,
        thread_id: str | None = None,
        check: CheckView | None = None,
    ) -> None:
        """Ephemeral through the answer's interaction while its token is valid, else a DM;
        a self-check select under the last part."""
        interaction = self._token(user_id, thread_id or "")
        if interaction is not None:
            try:
                await send_parts(interaction.followup.send, text, check, ephemeral=True)
                return
            except discord.HTTPException as exc:
                _log.info("ephemeral follow-up failed (%s); sending a DM instead", exc)
        await self.direct_message(int(user_id), text, check)

    async def upload_file(
        self, channel: ChannelRef, user_id: str, filename: str, data: bytes, title: str
    ) -> None:
        """An attachment only the user sees, on the command that asked for it; else a DM."""
        filename = safe_filename(filename)
        interaction = self._token(user_id, COMMAND)
        if interaction is not None:
            try:
                await interaction.followup.send(
                    discord_escape(title),
                    file=discord.File(io.BytesIO(data), filename=filename),
                    ephemeral=True,
                )
                return
            except discord.HTTPException as exc:
                _log.info("ephemeral file failed (%s); sending a DM instead", exc)
        try:
            user = await self._user(int(user_id))
            await user.send(
                discord_escape(title), file=discord.File(io.BytesIO(data), filename=filename)
            )
        except discord.HTTPException as exc:
            _log.warning("cannot send file %s to user %s: %s", filename, user_id, exc)

    async def direct_message(self, user_id: int, text: str, check: CheckView | None = None) -> bool:
        """A DM; False (logged) when the user does not accept DMs from the bot."""
        try:
            user = await self._user(user_id)
            await send_parts(user.send, text, check)
        except discord.HTTPException as exc:
            _log.warning("cannot send a DM to user %s: %s", user_id, exc)
            return False
        return True

    async def _user(self, user_id: int) -> discord.User:
        return self.client.get_user(user_id) or await self.client.fetch_user(user_id)

    async def add_reaction(
        self, channel: ChannelRef, message_id: str, band: str, thread_id: str | None = None
    ) -> None:
        """The band as an emoji on the answer, in the daily's thread (whose id is the daily
        message's). Never raises: the feedback that follows must not be lost to a reaction
        Discord refused."""
        channel_id = int(thread_id or channel.channel_id)
        message = self.client.get_partial_messageable(channel_id).get_partial_message(
            int(message_id)
        )
        try:
            await message.add_reaction(look.BAND_EMOJI.get(band, "📝"))
        except discord.HTTPException as exc:
            _log.warning("reaction on message %s refused: %s", message_id, exc)

    async def notify_admins(self, channel: ChannelRef, text: str) -> None:
        """A DM to the server's owner; the server's system channel if the owner takes no DMs."""
        guild = (
            self.client.get_guild(int(channel.workspace_id))
            if channel.workspace_id.isdigit()
            else None
        )
        if guild is None:
            _log.warning("admin notice for %s (no server to tell): %s", channel, text)
            return
        notice = f"drillbot in {guild.name}: {text}"
        if guild.owner_id is not None and await self.direct_message(guild.owner_id, notice):
            return
        if guild.system_channel is not None:
            with contextlib.suppress(discord.HTTPException):
                for part in look.content_parts(notice):
                    await guild.system_channel.send(part)
                return
        _log.warning("admin notice for %s not delivered: %s", channel, text)


async def send_parts(
    send: Callable[..., Awaitable[Any]], text: str, check: CheckView | None, **options: Any
) -> None:
    """`text` in as many messages as it takes (escaped, masked links stripped), with a
    self-check select under the last."""
    parts = look.content_parts(text)
    view = check_view(check)
    for i, part in enumerate(parts):
        extra = {"view": view} if view is not None and i == len(parts) - 1 else {}
        await send(part, **options, **extra)
