"""drillbot on Discord: the discord.py client and the service `bot.app` runs.

The client is an `AutoShardedClient` (Discord's recommended shard count unless
DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS split the shards across processes). It asks only for
the intents it uses: guilds, guild and DM messages, and Message Content when
DISCORD_MESSAGE_CONTENT says the privileged intent is enabled for the application. Events go
to `bridge.Bridge`; the core's calls go to `outbound.DiscordAdapter`.

DISCORD_API_BASE and DISCORD_GATEWAY_URL point discord.py elsewhere (a proxy, or the tests'
fake Discord): they set discord.py's own class-level endpoints, which it reads everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.config import Settings
from bot.errors import StartupError
from bot.platforms.discord.bridge import Bridge
from bot.platforms.discord.commands import build_group
from bot.platforms.discord.outbound import DiscordAdapter
from bot.platforms.discord.views import AnswerButton, CheckSelect, ChoiceButton
from bot.ports import Host

_log = logging.getLogger(__name__)
#: Seconds one Discord REST attempt may take (a hung connection must not hold a channel).
ATTEMPT_TIMEOUT = 10.0


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py's REST and gateway at the configured URLs (process-wide, as
    discord.py keeps them on its classes)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def intents_for(settings: Settings) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.discord_message_content
    return intents


def bound_attempts(http: discord.http.HTTPClient, seconds: float) -> None:
    """Give every REST attempt a timeout: discord.py opens its aiohttp session (at login,
    before `setup_hook`) with aiohttp's default of 5 minutes, so one hung channel would hold
    its post, and the tick step waiting for it, that long. discord.py sleeps out a 429's
    Retry-After between attempts, outside `session.request`, so those waits are unaffected."""
    session = getattr(http, "_HTTPClient__session", None)
    if isinstance(session, aiohttp.ClientSession):
        session._timeout = aiohttp.ClientTimeout(total=seconds)
    else:
        _log.warning("discord.py's HTTP session was not found: REST attempts keep its timeout")


class DrillClient(discord.AutoShardedClient):
    """Routes discord.py's events to the bridge and registers `/drill` and the buttons."""

    def __init__(self, app: Host, **options: Any) -> None:
        settings = app.settings
        super().__init__(
            intents=intents_for(settings),
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=settings.discord_shard_count,
            # discord.py takes None for "every shard"; its annotation says list only
            shard_ids=settings.discord_shard_ids or None,  # type: ignore[arg-type]
            **options,
        )
        self.settings = settings
        self.gateway_url = (
            yarl.URL(settings.discord_gateway_url) if settings.discord_gateway_url else None
        )
        self.adapter = DiscordAdapter(self, settings.discord_message_content)
        self.bridge = Bridge(app.inbound, self.adapter, settings.discord_message_content)
        self.tree = app_commands.CommandTree(self)
        self._catch_ups: set[asyncio.Task[None]] = set()

    async def setup_hook(self) -> None:
        bound_attempts(self.http, ATTEMPT_TIMEOUT)
        self.add_dynamic_items(AnswerButton, ChoiceButton, CheckSelect)
        self.tree.add_command(build_group(self.bridge))
        if self.shard_ids is None or 0 in self.shard_ids:  # one process syncs the commands
            await self._sync_commands()

    async def _sync_commands(self) -> None:
        """To the DISCORD_COMMAND_GUILDS at once when set (global commands take a while to
        show up), else globally."""
        try:
            if not self.settings.discord_command_guilds:
                await self.tree.sync()
            for guild_id in self.settings.discord_command_guilds:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        except discord.HTTPException:
            _log.exception("syncing /drill failed; buttons and DMs keep working")

    async def launch_shard(
        self, gateway: yarl.URL, shard_id: int, *, initial: bool = False
    ) -> None:
        """The configured gateway wins over the one Discord recommends."""
        await super().launch_shard(self.gateway_url or gateway, shard_id, initial=initial)

    async def on_shard_ready(self, shard_id: int) -> None:
        """Also after a reconnect that could not resume: catch up on the open dailies."""
        task = asyncio.create_task(self.bridge.catch_up(shard_id))
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_ups.discard)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.bridge.on_guild(guild, installed=True)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.bridge.on_guild(guild, installed=True)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.bridge.on_guild(guild, installed=False)

    async def on_message(self, message: discord.Message) -> None:
        await self.bridge.on_message(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.bridge.on_edit(payload.message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.bridge.on_interaction(interaction)

    async def close(self) -> None:
        for task in list(self._catch_ups):
            task.cancel()
        await super().close()


class DiscordService:
    """The client as a `bot.ports.Service`."""

    wants_scheduler = True

    def __init__(self, app: Host, **client_options: Any) -> None:
        token = app.settings.discord_token
        if token is None:
            raise StartupError("DISCORD_TOKEN is not set; see docs/discord.md")
        if app.settings.discord_shard_ids and app.settings.discord_shard_count is None:
            raise StartupError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total)")
        self._token = token.get_secret_value()
        configure_endpoints(app.settings)
        self.client = DrillClient(app, **client_options)
        self.adapter = self.client.adapter
        self._runner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in, connect, and return once every shard of this process is ready."""
        await self.client.login(self._token)
        self._runner = asyncio.create_task(self.client.connect())
        ready = asyncio.create_task(self.client.wait_until_ready())
        await asyncio.wait({self._runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if self._runner.done():
            ready.cancel()
            self._runner.result()  # the reason the connection ended, raised

    async def wait(self) -> None:
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def stop(self) -> None:
        await self.client.close()
        if self._runner is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._runner


async def create(app: Host) -> DiscordService:
    return DiscordService(app)
