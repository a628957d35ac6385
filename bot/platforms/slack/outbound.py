"""The core's calls rendered as Slack Web API calls (the `Adapter` port for Slack).

Every call goes through `SlackApi`, so through the one rate limiter. Errors meaning the bot
cannot post in a channel become `ChannelUnavailable`, which the core turns into a paused
channel and one notice to an admin; nothing here decides product rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.domain.selfcheck import CheckView
from bot.domain.types import ChannelRef, DailyPost, Digest, Reveal
from bot.errors import ChannelUnavailable, WorkspaceGone
from bot.platforms.common.cache import BoundedCache
from bot.platforms.common.files import safe_filename
from bot.platforms.slack import blocks
from bot.platforms.slack.api import CHANNEL_GONE, SlackApi, error_code
from bot.platforms.slack.installations import PostAttempts

_log = logging.getLogger(__name__)

DAILY_EVENT = "drillbot_daily"
#: Ephemeral messages need the user (and usually the bot) in the channel; else a DM.
EPHEMERAL_FALLBACK = frozenset({*CHANNEL_GONE, "user_not_in_channel"})
#: Clocks differ and requests take time: look this far before the attempt for the post.
HISTORY_MARGIN = timedelta(hours=1)
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: Bands remembered per answer message, so a regrade replaces its reaction.
_REMEMBERED_BANDS = 10_000
#: Users whose DM channel id is remembered (conversations.open is asked again past that).
_REMEMBERED_DMS = 50_000


class SlackAdapter:
    platform = "slack"

    def __init__(self, *, api: SlackApi, attempts: PostAttempts, admins: Collection[str]) -> None:
        self.api = api
        self.attempts = attempts
        self.admins = [a for a in admins if _SLACK_USER.match(a)]
        self._dms: BoundedCache[tuple[str, str], str] = BoundedCache(_REMEMBERED_DMS)
        self._bands: BoundedCache[tuple[str, str, str], str] = BoundedCache(_REMEMBERED_BANDS)

    # -- the port ----------------------------------------------------------------------------

    async def post_daily(self, post: DailyPost) -> str:
        await self.attempts.record(post.channel.workspace_id, post.key)
        response = await self._post(
            post.channel,
            **blocks.daily_message(post).as_args(),
            metadata={"event_type": DAILY_EVENT, "event_payload": {"key": post.key}},
        )
        return str(response["ts"])

    async def find_daily(self, post: DailyPost) -> str | None:
        """Only a post attempted before can exist; only then is the history read."""
        ref = post.channel
        attempted = await self.attempts.attempted(ref.workspace_id, post.key)
        if attempted is None:
            return None
        client = await self.api.client(ref.workspace_id)
        oldest = (attempted - HISTORY_MARGIN).timestamp()
        cursor: str | None = None
        try:
            while True:
                page = await client.conversations_history(
                    channel=ref.channel_id,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=100,
                    cursor=cursor,
                )
                messages: list[dict[str, Any]] = page.get("messages", [])
                for message in messages:
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("key") == post.key:
                        return str(message["ts"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            raise self._unavailable(ref, exc) from exc

    async def post_reveal(self, reveal: Reveal) -> None:
        message = blocks.reveal_message(reveal)
        await self._post(reveal.channel, thread_ts=reveal.thread_id, **message.as_args())

    async def post_digest(self, digest: Digest) -> str:
        response = await self._post(digest.channel, **blocks.digest_message(digest).as_args())
        return str(response["ts"])

    async def send_dm(self, channel: ChannelRef, user_id: str, text: str) -> None:
        await self.direct_message(channel.workspace_id, user_id, blocks.text_message(text))

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None:
        await self._post(channel, thread_ts=thread_id, **blocks.text_message(text).as_args())

    async def send_private(
        self,
        channel: ChannelRef,
        user_id: str,
        text: str,
        thread_id: str | None = None,
        check: CheckView | None = None,
    ) -> None:
        message = blocks.check_message(text, check) if check else blocks.text_message(text)
        if channel.channel_id.startswith("D"):  # a DM is private already
            await self._post(channel, **message.as_args())
            return
        client = await self.api.client(channel.workspace_id)
        try:
            await client.chat_postEphemeral(
                channel=channel.channel_id,
                user=user_id,
                thread_ts=thread_id,
                **message.as_args(),
            )
        except SlackApiError as exc:
            if error_code(exc) not in EPHEMERAL_FALLBACK:
                raise
            await self.direct_message(channel.workspace_id, user_id, message)

    async def add_reaction(
        self, channel: ChannelRef, message_id: str, band: str, thread_id: str | None = None
    ) -> None:
        client = await self.api.client(channel.workspace_id)
        key = (channel.workspace_id, channel.channel_id, message_id)
        earlier = self._bands.pop(key)
        if earlier and earlier != band:
            await self._react(client.reactions_remove, channel, message_id, earlier)
        await self._react(client.reactions_add, channel, message_id, band)
        self._bands.put(key, band)

    async def notify_admins(self, channel: ChannelRef, text: str) -> None:
        """Best effort: a notice that cannot be delivered is logged, never raised into the
        core's posting loop."""
        message = blocks.text_message(text)
        try:
            admins = await self._admins(channel.workspace_id)
        except (SlackApiError, WorkspaceGone) as exc:
            _log.warning("no admin to tell in %s (%s): %s", channel.workspace_id, exc, text)
            return
        for user in admins:
            try:
                await self.direct_message(channel.workspace_id, user, message)
            except (SlackApiError, ChannelUnavailable) as exc:
                _log.info("cannot DM admin %s in %s: %s", user, channel.workspace_id, exc)

    async def upload_file(
        self, channel: ChannelRef, user_id: str, filename: str, data: bytes, title: str
    ) -> None:
        """A file in the user's DM with the bot, through files_upload_v2 (files.upload is
        retired): only that user sees it."""
        client = await self.api.client(channel.workspace_id)
        dm = await self.open_dm(channel.workspace_id, user_id)
        await client.files_upload_v2(
            channel=dm,
            file=data,
            filename=safe_filename(filename),
            title=title,
            initial_comment=title,
        )

    # -- helpers used by the inbound side too -----------------------------------------------

    async def open_dm(self, team_id: str, user_id: str) -> str:
        """The DM channel between the bot and a user (conversations.open, remembered)."""
        key = (team_id, user_id)
        known = self._dms.get(key)
        if known is None:
            client = await self.api.client(team_id)
            opened = await client.conversations_open(users=user_id)
            known = str(opened["channel"]["id"])
            self._dms.put(key, known)
        return known

    async def direct_message(self, team_id: str, user_id: str, message: blocks.Message) -> None:
        channel = ChannelRef(team_id, await self.open_dm(team_id, user_id))
        await self._post(channel, **message.as_args())

    async def publish_home(self, team_id: str, user_id: str, view: dict[str, Any]) -> None:
        client = await self.api.client(team_id)
        await client.views_publish(user_id=user_id, view=view)

    async def open_modal(self, team_id: str, trigger_id: str, view: dict[str, Any]) -> None:
        client = await self.api.client(team_id)
        await client.views_open(trigger_id=trigger_id, view=view)

    def forget_team(self, team_id: str) -> None:
        self._dms.discard(lambda key: key[0] == team_id)

    # -- internals ----------------------------------------------------------------------------

    async def _post(self, channel: ChannelRef, **args: Any) -> Any:
        client = await self.api.client(channel.workspace_id)
        try:
            return await client.chat_postMessage(channel=channel.channel_id, **args)
        except SlackApiError as exc:
            raise self._unavailable(channel, exc) from exc

    @staticmethod
    def _unavailable(channel: ChannelRef, exc: SlackApiError) -> Exception:
        code = error_code(exc)
        return ChannelUnavailable(channel, code) if code in CHANNEL_GONE else exc

    @staticmethod
    async def _react(call: Any, channel: ChannelRef, message_id: str, band: str) -> None:
        try:
            await call(
                channel=channel.channel_id, timestamp=message_id, name=blocks.BAND_EMOJI[band]
            )
        except SlackApiError as exc:
            if error_code(exc) not in {"already_reacted", "no_reaction", "message_not_found"}:
                raise

    async def _admins(self, team_id: str) -> list[str]:
        """Who hears about a channel drillbot cannot use: DRILLBOT_ADMINS and the installer,
        else the workspace's owners and admins (first page of users.list)."""
        workspace = await self.api.workspace(team_id)
        chosen = list(dict.fromkeys([*self.admins, *filter(None, [workspace.installer_user_id])]))
        if chosen:
            return chosen
        client = await self.api.client(team_id)
        members: list[dict[str, Any]] = (await client.users_list(limit=200)).get("members", [])
        return [
            m["id"]
            for m in members
            if (m.get("is_owner") or m.get("is_admin"))
            and not m.get("deleted")
            and not m.get("is_bot")
        ][:5]
