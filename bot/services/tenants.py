"""Workspaces and channels: created on first sight, switched off on uninstall, and who is an
admin (what the platform says, plus DRILLBOT_ADMINS)."""

from __future__ import annotations

from functools import lru_cache

from bot.clock import Clock
from bot.domain.cronspec import CronSpec
from bot.domain.types import Actor, ChannelRef
from bot.services.config import CoreConfig
from bot.store.rows import ChannelRow
from bot.store.tenancy import Tenancy

DEFAULT_CRON = "0 9 * * MON-FRI"


@lru_cache(maxsize=1024)
def spec(text: str) -> CronSpec:
    """A parsed cron spec; a channel's spec is parsed once, not at every tick."""
    return CronSpec.parse(text)


class Tenants:
    def __init__(self, tenancy: Tenancy, clock: Clock, config: CoreConfig) -> None:
        self.tenancy = tenancy
        self.clock = clock
        self.config = config

    def is_admin(self, actor: Actor) -> bool:
        return actor.is_admin or actor.user_id in self.config.admins

    async def ensure_workspace(
        self, workspace_id: str, platform: str, name: str = "", timezone: str | None = None
    ) -> None:
        await self.tenancy.ensure_workspace(
            workspace_id,
            platform,
            name,
            timezone or self.config.default_timezone,
            self.clock.now(),
        )

    async def set_workspace_active(self, workspace_id: str, active: bool) -> None:
        """Uninstall stops a workspace's schedules (its data stays); a reinstall resumes them."""
        await self.tenancy.set_workspace_active(workspace_id, active)

    async def ensure_channel(
        self,
        channel: ChannelRef,
        name: str = "",
        cron: str | None = DEFAULT_CRON,
        timezone: str | None = None,
    ) -> None:
        """Create a drill channel with the default schedule unless it exists already."""
        if cron is not None:
            spec(cron)
        await self.tenancy.ensure_channel(
            channel.workspace_id,
            channel.channel_id,
            name=name,
            cron=cron,
            timezone=timezone or self.config.default_timezone,
            now=self.clock.now(),
        )

    async def channel(self, ref: ChannelRef) -> ChannelRow | None:
        return await self.tenancy.channel(ref.workspace_id, ref.channel_id)

    async def channel_or_create(self, ref: ChannelRef) -> ChannelRow:
        """The channel's settings, creating it without a schedule if it is new."""
        chan = await self.channel(ref)
        if chan is None:
            await self.ensure_channel(ref, cron=None)
            chan = await self.channel(ref)
        assert chan is not None
        return chan

    async def timezone_of(self, workspace_id: str) -> str:
        return await self.tenancy.timezone_of(workspace_id) or self.config.default_timezone
