"""What the Slack adapter keeps: installations and post attempts in the database, and the
signed OAuth states that need no storage.

Installations (one per workspace, from the OAuth flow) hold the bot token encrypted at rest
with Fernet under the keys of `DRILLBOT_SECRET_KEY` (`TokenCipher`): a database dump alone
reveals no token, and keys rotate without a reinstall. The stores implement slack_sdk's async
interfaces so bolt's OAuth flow saves into them; drillbot itself resolves tokens through
`find`, cached in memory for a bounded time.

`slack_post_attempts` records a daily's reservation key just before its `chat.postMessage`.
Only a key found there can have reached Slack, so `find_daily` searches the channel history
for those alone and a normal post costs no history call (Slack restricts
`conversations.history` for distributed apps).

The rows live in the core's database (`bot.store.slack`, reached as `bot.ports.SlackStorage`);
migration `0002_slack` creates their tables.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.clock import Clock
from bot.platforms.common.cache import BoundedCache
from bot.ports import SlackInstallation, SlackStorage
from bot.secret_keys import parse_secret_keys

_log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
#: How long an installation read from the database is trusted (SLACK_CACHE_SECONDS), and how
#: many workspaces are remembered at once.
CACHE_SECONDS = 60.0
CACHE_SIZE = 100_000


def legacy_key(passphrase: str) -> str:
    """The Fernet key earlier releases derived from a passphrase in DRILLBOT_SECRET_KEY
    (HKDF-SHA256, no salt). Only ever used to decrypt tokens stored under it, once, when the
    operator names the passphrase in DRILLBOT_LEGACY_SECRET_KEY."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"drillbot slack tokens v1"
    ).derive(passphrase.encode())
    return base64.urlsafe_b64encode(derived).decode()


class TokenCipher:
    """Fernet under a list of keys (DRILLBOT_SECRET_KEY, newest first): the first encrypts,
    every key decrypts (cryptography's MultiFernet), and a token found under an older key, or
    under the legacy passphrase, comes back with its re-encryption under the first key."""

    def __init__(self, keys: Sequence[str], legacy_passphrase: str | None = None) -> None:
        fernets = [Fernet(key.encode()) for key in keys]
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)
        self._legacy = Fernet(legacy_key(legacy_passphrase)) if legacy_passphrase else None

    @classmethod
    def from_settings(cls, secret_key: str, legacy_passphrase: str | None = None) -> TokenCipher:
        return cls(parse_secret_keys(secret_key), legacy_passphrase)

    def encrypt(self, token: str) -> str:
        return self._primary.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> tuple[str, str | None]:
        """The token, and its ciphertext under the first key when it was stored under another
        one (None when it already is); InvalidToken when no key opens it."""
        raw = ciphertext.encode()
        try:
            return self._primary.decrypt(raw).decode(), None
        except InvalidToken:
            pass
        try:
            return self._all.decrypt(raw).decode(), self._all.rotate(raw).decode()
        except InvalidToken:
            if self._legacy is None:
                raise
        token = self._legacy.decrypt(raw).decode()
        return token, self.encrypt(token)


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

    def __init__(
        self,
        storage: SlackStorage,
        cipher: TokenCipher,
        clock: Clock,
        ttl: float = CACHE_SECONDS,
    ) -> None:
        self.storage = storage
        self.cipher = cipher
        self.clock = clock
        #: Installations (or their absence) read lately. Short-lived, because another replica
        #: may reinstall or uninstall a workspace; `evict` drops one at once when Slack refuses
        #: its token.
        self._cache: BoundedCache[str, Workspace | None] = BoundedCache(
            CACHE_SIZE, ttl, now=lambda: clock.now().timestamp()
        )

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
        self._cache.pop(bot.team_id)

    async def find(self, team_id: str) -> Workspace | None:
        """The workspace's installation, decrypted (cached for the cache's time to live)."""
        if team_id in self._cache:
            return self._cache.get(team_id)
        row = await self.storage.installation(team_id)
        found = await self._workspace(row) if row else None
        self._cache.put(team_id, found)
        return found

    def evict(self, team_id: str) -> None:
        """Forget what was read of this workspace: the next `find` reads the database."""
        self._cache.pop(team_id)

    async def forget(self, team_id: str) -> None:
        await self.async_delete_bot(enterprise_id=None, team_id=team_id)

    async def reencrypt_all(self) -> int:
        """Re-encrypt every token not stored under the first key (start-up, after a key was
        put in front): once this ran, the older keys can be dropped. How many were."""
        done = 0
        for row in await self.storage.installations():
            try:
                _, fresh = self.cipher.decrypt(row.bot_token)
            except InvalidToken:
                continue  # logged when the workspace is used
            if fresh is not None and await self.storage.replace_token(
                row.team_id, row.bot_token, fresh
            ):
                done += 1
        if done:
            _log.info("slack: re-encrypted %d stored token(s) under the first secret key", done)
        return done

    async def _workspace(self, row: SlackInstallation) -> Workspace | None:
        try:
            token, fresh = self.cipher.decrypt(row.bot_token)
        except InvalidToken:
            _log.error(
                "the token of workspace %s does not decrypt with any key of "
                "DRILLBOT_SECRET_KEY (nor DRILLBOT_LEGACY_SECRET_KEY): add the key it was "
                "stored under, or reinstall the app there.",
                row.team_id,
            )
            return None
        if fresh is not None:
            await self.storage.replace_token(row.team_id, row.bot_token, fresh)
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
        self._cache.put(team_id, None)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Only bot tokens are stored: a user's revoked token leaves nothing to delete; without
        a user, the workspace's installation goes."""
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class SignedStates(AsyncOAuthStateStore):
    """OAuth `state` values that carry their own proof: `<expiry>.<nonce>.<signature>`, an
    HMAC-SHA256 under a key from the app's client secret, valid until the expiry (ten minutes).

    Why stateless: `GET /slack/install` is unauthenticated, and a state kept in the database
    cost a write per hit (300 hits, 300 rows, each taking SQLite's writer lock). A signed state
    costs nothing to issue, any replica behind a load balancer can check it, and bolt binds it
    to the browser that started the install (the state cookie must match). It is not
    single-use: Slack's authorization `code` is, and the exchange needs it."""

    def __init__(self, client_secret: str, clock: Clock, ttl: timedelta = STATE_TTL) -> None:
        self._key = hmac.new(client_secret.encode(), b"drillbot oauth state v1", "sha256").digest()
        self.clock = clock
        self.ttl = ttl

    @property
    def logger(self) -> logging.Logger:
        return _log

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, payload.encode(), "sha256").digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        expires = int((self.clock.now() + self.ttl).timestamp())
        payload = f"{expires}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    async def async_consume(self, state: str) -> bool:
        payload, _, signature = (state or "").rpartition(".")
        expected = self._sign(payload).encode()
        if not payload or not hmac.compare_digest(signature.encode(errors="replace"), expected):
            return False
        expires = payload.partition(".")[0]
        return expires.isdigit() and int(expires) >= self.clock.now().timestamp()


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
