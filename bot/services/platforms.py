"""The adapters this process serves, which one each workspace belongs to, and admin notices.

Services that talk to users get this object passed in and ask it for a workspace's adapter;
none of them reaches through another service to find one.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.domain.types import ChannelRef
from bot.ports import Adapter
from bot.store.coalesce import SingleFlight
from bot.store.tenancy import Tenancy


class Platforms:
    def __init__(self, tenancy: Tenancy, clock: Clock) -> None:
        self.tenancy = tenancy
        self.clock = clock
        self.adapters: dict[str, Adapter] = {}
        self._platforms: dict[str, str] = {}
        self._lookup: SingleFlight[str, str | None] = SingleFlight(tenancy.platform_of)

    def attach(self, adapter: Adapter) -> None:
        self.adapters[adapter.platform] = adapter

    @property
    def served(self) -> list[str]:
        """The platforms this process posts to."""
        return list(self.adapters)

    async def adapter_for(self, workspace_id: str) -> Adapter:
        """The adapter of the workspace's platform (a workspace never changes platform, so it
        is read once; a fan-out's concurrent first lookups share that read)."""
        platform = self._platforms.get(workspace_id)
        if platform is None:
            platform = str(await self._lookup.get(workspace_id))
            self._platforms[workspace_id] = platform
        return self.adapters[platform]

    async def notify_once(self, ref: ChannelRef, kind: str, text: str) -> None:
        """Tell an admin, once per channel and kind."""
        if await self.tenancy.notice_once(ref.workspace_id, ref.channel_id, kind, self.clock.now()):
            await (await self.adapter_for(ref.workspace_id)).notify_admins(ref, text)
