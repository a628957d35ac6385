"""What the Slack adapter keeps in the database: installations, OAuth states, post attempts.

Installations (one per workspace, from the OAuth flow) hold the bot token encrypted at rest
with Fernet, under a key derived from `DRILLBOT_SECRET_KEY` (HKDF-SHA256): a database dump
alone reveals no token. The stores implement slack_sdk's async interfaces so bolt's OAuth
flow saves into them; drillbot itself resolves tokens through `find`, cached in memory.

`slack_post_attempts` records a daily's reservation key just before its `chat.postMessage`.
Only a key found there can have reached Slack, so `find_daily` searches the channel history
for those alone and a normal post costs no history call (Slack restricts
`conversations.history` for distributed apps).

The rows live in the core's database (`bot.store.slack`, reached as `bot.ports.SlackStorage`);
migration `0002_slack` creates their tables.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.clock import Clock
from bot.ports import SlackInstallation, SlackStorage

_log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)


class TokenCipher:
    """Fernet under a key derived from DRILLBOT_SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"drillbot slack tokens v1"
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode()).decode()


@dataclass(frozen=True)
class Workspace:
    """A workspace drillbot can act in: its bot token and identity."""

    team_id: str
    team_name: str
    bot_token: str
    bot_id: str
    bot_user_id: str
    installer_user_id: str | None = None


class InstallationStore(AsyncInstallationStore):
    """Bot installations in our database, tokens encrypted; bot scopes only."""

    def __init__(self, storage: SlackStorage, cipher: TokenCipher, clock: Clock) -> None:
        self.storage = storage
        self.cipher = cipher
        self.clock = clock
        self._cache: dict[str, Workspace | None] = {}

    @property
    def logger(self) -> logging.Logger:
        return _log

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot(), installer=installation.user_id)

    async def async_save_bot(self, bot: Bot, installer: str | None = None) -> None:
        if not bot.team_id:
            raise ValueError("org-wide (Enterprise Grid) installs are not supported")
        values: dict[str, Any] = {
            "enterprise_id": bot.enterprise_id,
            "team_name": bot.team_name or "",
            "app_id": bot.app_id,
            "bot_id": bot.bot_id,
            "bot_user_id": bot.bot_user_id,
            "bot_token": self.cipher.encrypt(bot.bot_token),
            "bot_scopes": ",".join(bot.bot_scopes),
            "installer_user_id": installer,
            "installed_at": self.clock.now(),
        }
        await self.storage.save_installation(bot.team_id, values)
        self._cache.pop(bot.team_id, None)

    async def find(self, team_id: str) -> Workspace | None:
        """The workspace's installation, decrypted (cached until it changes)."""
        if team_id in self._cache:
            return self._cache[team_id]
        row = await self.storage.installation(team_id)
        found = self._workspace(row) if row else None
        self._cache[team_id] = found
        return found

    async def forget(self, team_id: str) -> None:
        await self.async_delete_bot(enterprise_id=None, team_id=team_id)

    def _workspace(self, row: SlackInstallation) -> Workspace | None:
        try:
            token = self.cipher.decrypt(row.bot_token)
        except InvalidToken:
            _log.error(
                "the token of workspace %s does not decrypt: was DRILLBOT_SECRET_KEY changed? "
                "Reinstall the app there.",
                row.team_id,
            )
            return None
        return Workspace(
            row.team_id, row.team_name, token, row.bot_id, row.bot_user_id, row.installer_user_id
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id
        )
        return installation.to_bot() if installation else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.find(team_id) if team_id else None
        if found is None:
            return None
        return Installation(
            enterprise_id=enterprise_id,
            team_id=found.team_id,
            team_name=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            user_id=found.installer_user_id or "",
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        if not team_id:
            return
        await self.storage.delete_installation(team_id)
        self._cache[team_id] = None

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Only bot tokens are stored: a user's revoked token leaves nothing to delete; without
        a user, the workspace's installation goes."""
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class StateStore(AsyncOAuthStateStore):
    """OAuth `state` values in the database, each valid once for ten minutes, so any
    replica behind a load balancer can finish an install another one started."""

    def __init__(self, storage: SlackStorage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return _log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.storage.issue_state(state, now, now + STATE_TTL)
        return state

    async def async_consume(self, state: str) -> bool:
        return await self.storage.consume_state(state, self.clock.now())


class PostAttempts:
    """Keys of dailies whose post may have reached Slack, recorded just before each post.

    A fan-out records hundreds of keys at once, and SQLite has one writer, so the storage
    groups concurrent records into shared transactions: a record returns once committed,
    before its post is sent."""

    def __init__(self, storage: SlackStorage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    async def record(self, workspace_id: str, key: str) -> None:
        await self.storage.record_attempt(workspace_id, key, self.clock.now())

    async def attempted(self, workspace_id: str, key: str) -> datetime | None:
        """When the post was first attempted, or None if it never was."""
        return await self.storage.attempted(workspace_id, key)
