"""drillbot on Slack: the service `bot.app` starts for `--platform slack`.

Three ways to run, chosen by settings (docs/slack.md):
- Socket Mode (default; `SLACK_BOT_TOKEN` + `SLACK_APP_TOKEN`): a team hosting its own bot,
  no public URL;
- HTTP mode with one token (`SLACK_MODE=http`, `SLACK_SIGNING_SECRET`, `SLACK_BOT_TOKEN`):
  events, commands and interactions at `/slack/events`, `/healthz` for probes (a database
  round-trip: 503 when it fails);
- HTTP mode for many workspaces (`SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET`): OAuth install at
  `/slack/install` and `/slack/oauth_redirect`, tokens in our database, encrypted under the
  keys of `DRILLBOT_SECRET_KEY` (refused without it; rotation in docs/slack.md).

The pieces (modules of this package): `limits` (the one rate limiter), `api` (clients, users),
`installations` (installations), `blocks` (rendering), `outbound` (the core's outbound port),
`events` (deliveries into the core), `home` (the App Home tab).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse

from bot.platforms.slack.api import Installations, SingleWorkspace, SlackApi, UserDirectory
from bot.platforms.slack.events import SlackEvents
from bot.platforms.slack.installations import (
    InstallationStore,
    PostAttempts,
    SignedStates,
    TokenCipher,
)
from bot.platforms.slack.limits import Limits, RateLimiter
from bot.platforms.slack.outbound import SlackAdapter
from bot.ports import Host

_log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
#: How long `/healthz` waits for the database's answer.
HEALTH_TIMEOUT = 5.0
#: What stopping waits for listeners in flight and for grades to be delivered.
GRACE_SECONDS = 10.0
#: The bot scopes drillbot asks for; slack_manifest.yaml lists the same (a test checks).
BOT_SCOPES = (
    "channels:history",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "im:history",
    "im:write",
    "reactions:write",
    "users:read",
)


class InstallationAuthorize(AsyncAuthorize):
    """Bolt's authorization from our installations, with no auth.test per request (bolt's
    own installation-store authorize calls it on every request, outside our limiter)."""

    def __init__(self, installations: Installations) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
        self.installations = installations

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        found = await self.installations.find(team_id) if team_id else None
        if found is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=found.team_id,
            team=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            user_id=user_id,
        )


class SlackService:
    """The running Slack connection: an AsyncApp fed by Socket Mode or its aiohttp server."""

    wants_scheduler = True

    def __init__(
        self,
        *,
        app: Host,
        bolt: AsyncApp,
        api: SlackApi,
        adapter: SlackAdapter,
        events: SlackEvents,
        single: SingleWorkspace | None,
        store: InstallationStore | None = None,
    ) -> None:
        self.app = app
        self.bolt = bolt
        self.api = api
        self.adapter = adapter
        self.events = events
        self.single = single
        self.store = store
        self.port: int | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        settings = self.app.settings
        if self.store is not None:
            await self.store.reencrypt_all()
        if self.single is not None:
            workspace = await self.single.identify(self.api.make_client(self.single.token))
            core = self.app.inbound
            await core.ensure_workspace(workspace.team_id, "slack", workspace.team_name)
            await core.set_workspace_active(workspace.team_id, True)
            _log.info("slack: bot %s in workspace %s", workspace.bot_user_id, workspace.team_id)
        if settings.slack_mode == "socket":
            assert settings.slack_app_token is not None
            self._socket = AsyncSocketModeHandler(
                self.bolt,
                settings.slack_app_token.get_secret_value(),
                web_client=self.api.make_client(),
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            _log.info("slack: connected in Socket Mode")
            return
        server = self.bolt.server(
            port=settings.http_port, path=EVENTS_PATH, host=settings.http_host
        )
        server.web_app.router.add_get("/healthz", self.healthz)
        self._runner = web.AppRunner(server.web_app)
        await self._runner.setup()
        await web.TCPSite(self._runner, settings.http_host, settings.http_port).start()
        self.port = int(self._runner.addresses[0][1])
        _log.info("slack: HTTP mode on %s:%s%s", settings.http_host, self.port, EVENTS_PATH)

    async def healthz(self, request: web.Request) -> web.Response:
        """For load balancers and probes: 200 when the database answers a round-trip within
        `HEALTH_TIMEOUT`, else 503 (the process is up but cannot store an answer)."""
        try:
            await asyncio.wait_for(self.app.check_database(), HEALTH_TIMEOUT)
        except Exception as exc:  # whatever the driver raises, the database is not usable
            _log.warning("healthz: the database check failed (%s)", type(exc).__name__)
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        return web.json_response({"ok": True, "database": "ok"})

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop taking deliveries, let listeners and grades in flight finish (bounded), then
        close the Web API session they need."""
        if self._stopped.is_set():
            return
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        await self.events.inflight.wait(GRACE_SECONDS)
        try:
            await asyncio.wait_for(self.app.inbound.drain(), GRACE_SECONDS)
        except TimeoutError:
            _log.warning("slack: stopped with grades in flight; they are graded at next start")
        await self.api.session.close()
        self._stopped.set()


def _check(app: Host) -> None:
    """Refuse settings that cannot work, saying what to set."""
    from bot.errors import StartupError

    s = app.settings
    oauth = bool(s.slack_client_id)
    if s.slack_mode == "socket":
        if oauth:
            raise StartupError(
                "Slack OAuth (SLACK_CLIENT_ID) needs SLACK_MODE=http: Socket Mode apps cannot "
                "be distributed to other workspaces"
            )
        if not (s.slack_bot_token and s.slack_app_token):
            raise StartupError("Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN")
        return
    if not s.slack_signing_secret:
        raise StartupError("SLACK_MODE=http needs SLACK_SIGNING_SECRET")
    if oauth and not (s.slack_client_secret and s.secret_key):
        raise StartupError(
            "Slack OAuth needs SLACK_CLIENT_SECRET and DRILLBOT_SECRET_KEY (which encrypts "
            "the workspaces' tokens at rest)"
        )
    if not oauth and not s.slack_bot_token:
        raise StartupError("SLACK_MODE=http needs SLACK_BOT_TOKEN, or SLACK_CLIENT_ID for OAuth")


async def build_service(app: Host, limits: Limits | None = None) -> SlackService:
    """Assemble the Slack service from settings (tests pass tighter or looser limits)."""
    _check(app)
    limits = limits or Limits(
        workspace_messages_per_second=app.settings.slack_messages_per_second
    )
    # slack_sdk applies its own timeout only to sessions it creates: every attempt through
    # ours (Web API and response URLs) is bounded here.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limits.attempt_timeout))
    try:
        return _assemble(app, session, limits)
    except BaseException:
        await session.close()
        raise


def _assemble(app: Host, session: aiohttp.ClientSession, limits: Limits) -> SlackService:
    s = app.settings
    core = app.inbound
    api = SlackApi(base_url=s.slack_api_url, limiter=RateLimiter(limits), session=session)
    single: SingleWorkspace | None = None
    store: InstallationStore | None = None
    installations: Installations
    if s.slack_client_id:
        assert s.secret_key is not None
        legacy = s.legacy_secret_key.get_secret_value() if s.legacy_secret_key else None
        cipher = TokenCipher.from_settings(s.secret_key.get_secret_value(), legacy)
        installations = store = InstallationStore(
            app.slack_storage, cipher, app.clock, ttl=s.slack_cache_seconds
        )
    else:
        assert s.slack_bot_token is not None
        installations = single = SingleWorkspace(s.slack_bot_token.get_secret_value())
    api.installations = installations
    adapter = SlackAdapter(
        api=api, attempts=PostAttempts(app.slack_storage, app.clock), admins=app.admins
    )
    users = UserDirectory(
        api, ttl=s.slack_cache_seconds, now=lambda: app.clock.now().timestamp()
    )

    async def uninstalled(team_id: str) -> None:
        """app_uninstalled and tokens_revoked, in either order: idempotent."""
        await installations.forget(team_id)
        await core.set_workspace_active(team_id, False)
        users.forget_team(team_id)
        adapter.forget_team(team_id)
        _log.info("slack: workspace %s uninstalled; its schedules stop", team_id)

    bolt = AsyncApp(
        name="drillbot",
        client=api.make_client(),
        signing_secret=s.slack_signing_secret.get_secret_value()
        if s.slack_signing_secret
        else None,
        request_verification_enabled=s.slack_mode == "http",
        authorize=InstallationAuthorize(installations),  # type: ignore[arg-type]
        oauth_settings=_oauth_settings(app, store) if store else None,
        # Answer Slack only when a listener returns: answers are committed first (events.py).
        process_before_response=True,
    )
    events = SlackEvents(
        core=app.inbound, adapter=adapter, api=api, users=users, on_uninstall=uninstalled
    )
    events.register(bolt)
    return SlackService(
        app=app, bolt=bolt, api=api, adapter=adapter, events=events, single=single, store=store
    )


def _oauth_settings(app: Host, store: InstallationStore) -> AsyncOAuthSettings:
    s = app.settings
    core = app.inbound

    async def installed(args: AsyncSuccessArgs) -> BoltResponse:
        """A (re)install makes the workspace known and active again before the success page."""
        team = args.installation.team_id
        if team:
            await core.ensure_workspace(team, "slack", args.installation.team_name or "")
            await core.set_workspace_active(team, True)
        return await args.default.success(args)

    async def failed(args: AsyncFailureArgs) -> BoltResponse:
        return await args.default.failure(args)

    assert s.slack_client_secret is not None
    return AsyncOAuthSettings(
        client_id=s.slack_client_id,
        client_secret=s.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=SignedStates(s.slack_client_secret.get_secret_value(), app.clock),
        callback_options=AsyncCallbackOptions(success=installed, failure=failed),
    )


async def create(app: Host) -> SlackService:
    """The entry point `bot.app.create_service` awaits."""
    return await build_service(app)


__all__ = ["BOT_SCOPES", "SlackService", "build_service", "create"]
