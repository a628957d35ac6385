"""The door to Slack's Web API: per-workspace clients that all share one rate limiter.

`PacedWebClient` is slack_sdk's `AsyncWebClient` with `api_call` (which every method goes
through) wrapped by the limiter, so bolt's own calls (OAuth token exchange, the Socket Mode
URL) are paced as well as ours. The SDK's retry handlers are off: the limiter retries 429s
after Retry-After, and nothing else is repeated blindly, because a `chat.postMessage` whose
connection dropped may have been posted (the core looks for it before posting again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.domain.types import Actor
from bot.errors import RateLimited, WorkspaceGone
from bot.platforms.common.cache import BoundedCache
from bot.platforms.slack.installations import Workspace
from bot.platforms.slack.limits import RateLimiter

_log = logging.getLogger(__name__)

#: Errors meaning the bot cannot post in this channel (the core pauses the channel).
#: Users whose identity is kept at once (each for the directory's time to live).
USERS_REMEMBERED = 50_000
CHANNEL_GONE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """Retry-After in seconds (1 when absent or unreadable, as Slack's docs suggest)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                break
    return 1.0


def error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


#: What Slack answers for a token that no longer works: uninstalled, revoked, reinstalled
#: elsewhere (another replica holds the new token) or the account deactivated.
AUTH_GONE = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})

#: Re-reads a workspace's token after Slack refused `stale`: the new one, or None.
Refresh = Callable[[str, str], Awaitable[str | None]]


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every call waits its turn in the shared limiter, and which,
    when Slack refuses its token (`AUTH_GONE`), re-reads the workspace's token once and
    retries with it if it changed (a reinstall on another replica)."""

    def __init__(
        self, *, limiter: RateLimiter, team: str = "", refresh: Refresh | None = None, **kwargs: Any
    ) -> None:
        super().__init__(retry_handlers=[], **kwargs)
        self.limiter = limiter
        self.drill_team = team
        self.refresh = refresh

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await self._paced(api_method, kwargs)
        except SlackApiError as exc:
            stale = self.token
            if error_code(exc) not in AUTH_GONE or self.refresh is None or stale is None:
                raise
            fresh = await self.refresh(self.drill_team, stale)
            if fresh is None or fresh == stale:
                raise
            _log.info(
                "slack: workspace %s has a new token; retrying %s", self.drill_team, api_method
            )
            self.token = fresh
            return await self._paced(api_method, kwargs)

    async def _paced(self, api_method: str, kwargs: dict[str, Any]) -> AsyncSlackResponse:
        args = kwargs.get("json") or kwargs.get("params") or kwargs.get("data") or {}
        channel = args.get("channel") if isinstance(args, dict) else None
        call = super().api_call

        async def send() -> AsyncSlackResponse:
            # The SDK pops keys (the token) from these dicts, so each attempt gets copies.
            fresh: dict[str, Any] = {
                k: dict(v) if isinstance(v, dict) else v for k, v in kwargs.items()
            }
            try:
                response: AsyncSlackResponse = await call(api_method, **fresh)
                return response
            except SlackApiError as exc:
                if exc.response is not None and exc.response.status_code == 429:
                    raise RateLimited(retry_after(exc.response.headers)) from exc
                raise

        return await self.limiter.run(self.drill_team, api_method, channel, send)


class Installations(Protocol):
    """Where a workspace's bot token comes from (one env token, or OAuth installations)."""

    async def find(self, team_id: str) -> Workspace | None: ...

    async def forget(self, team_id: str) -> None: ...

    def evict(self, team_id: str) -> None:
        """Drop what is remembered of the workspace, so `find` reads it afresh."""
        ...


class SingleWorkspace:
    """Single-workspace mode: SLACK_BOT_TOKEN, identified by auth.test at start."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.workspace: Workspace | None = None

    async def identify(self, client: AsyncWebClient) -> Workspace:
        me = await client.auth_test()
        self.workspace = Workspace(
            team_id=str(me["team_id"]),
            team_name=str(me.get("team") or ""),
            bot_token=self.token,
            bot_id=str(me.get("bot_id") or ""),
            bot_user_id=str(me["user_id"]),
        )
        return self.workspace

    async def find(self, team_id: str) -> Workspace | None:
        found = self.workspace
        return found if found is not None and found.team_id == team_id else None

    async def forget(self, team_id: str) -> None:
        """After an uninstall the token is dead until the operator installs again."""
        if self.workspace is not None and self.workspace.team_id == team_id:
            self.workspace = None

    def evict(self, team_id: str) -> None:
        """The one token comes from the environment: there is nothing to read again."""



class SlackApi:
    """Clients per workspace (its bot token), one aiohttp session, one limiter."""

    def __init__(
        self,
        *,
        base_url: str,
        limiter: RateLimiter,
        session: aiohttp.ClientSession,
        installations: Installations | None = None,
    ) -> None:
        self.base_url = base_url
        self.limiter = limiter
        self.session = session
        self.installations = installations
        self._clients: dict[tuple[str, str], PacedWebClient] = {}

    def make_client(self, token: str | None = None, team: str = "") -> PacedWebClient:
        return PacedWebClient(
            limiter=self.limiter,
            team=team,
            refresh=self.refresh if team else None,
            token=token,
            base_url=self.base_url,
            session=self.session,
        )

    async def workspace(self, team_id: str) -> Workspace:
        found = await self.installations.find(team_id) if self.installations else None
        if found is None:
            raise WorkspaceGone(team_id)
        return found

    async def refresh(self, team_id: str, stale: str) -> str | None:
        """After Slack refused `stale`: forget it, read the workspace's installation again
        and return its token (None when the workspace is gone)."""
        if self.installations is None:
            return None
        self.installations.evict(team_id)
        self._clients.pop((team_id, stale), None)
        found = await self.installations.find(team_id)
        return found.bot_token if found is not None else None

    async def client(self, team_id: str) -> PacedWebClient:
        token = (await self.workspace(team_id)).bot_token
        client = self._clients.get((team_id, token))
        if client is None:
            client = self._clients[(team_id, token)] = self.make_client(token, team_id)
        return client

    async def respond(self, team_id: str, response_url: str, text: str, blocks: list[Any]) -> None:
        """An ephemeral answer to a slash command through its response URL (valid in every
        channel, even where the bot is not a member), paced like any other call."""
        webhook = AsyncWebhookClient(response_url, session=self.session, retry_handlers=[])

        async def send() -> None:
            result = await webhook.send(text=text, blocks=blocks, response_type="ephemeral")
            if result.status_code == 429:
                raise RateLimited(retry_after(result.headers))
            if result.status_code >= 400:
                _log.warning("response_url answered %s: %s", result.status_code, result.body)

        await self.limiter.run(team_id, "response_url", None, send)


class UserDirectory:
    """Who a user is (display name, admin or owner), from users.info; concurrent lookups of
    one user share one call.

    Only a non-admin answer is remembered, briefly (`ttl`, SLACK_CACHE_SECONDS; the most
    recent `USERS_REMEMBERED`): an admin's rights are checked with Slack on every delivery,
    so a demoted admin loses them at once, while a promoted user gains them within `ttl`."""

    def __init__(
        self, api: SlackApi, ttl: float = 60.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.api = api
        self._cache: BoundedCache[tuple[str, str], Actor] = BoundedCache(
            USERS_REMEMBERED, ttl, now
        )
        self._pending: dict[tuple[str, str], asyncio.Future[Actor]] = {}

    async def actor(self, team_id: str, user_id: str) -> Actor:
        key = (team_id, user_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._lookup(team_id, user_id))
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _lookup(self, team_id: str, user_id: str) -> Actor:
        try:
            client = await self.api.client(team_id)
            user = (await client.users_info(user=user_id))["user"]
        except (SlackApiError, WorkspaceGone, aiohttp.ClientError) as exc:
            _log.warning(
                "users.info %s/%s failed (%s); treated as a non-admin", team_id, user_id, exc
            )
            return Actor(team_id, user_id)
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or ""
        admin = any(user.get(flag) for flag in ("is_admin", "is_owner", "is_primary_owner"))
        actor = Actor(team_id, user_id, name, is_admin=admin)
        if not admin:
            self._cache.put((team_id, user_id), actor)
        return actor

    def forget_team(self, team_id: str) -> None:
        self._cache.discard(lambda key: key[0] == team_id)
