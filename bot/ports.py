"""The ports between the core and the platforms (docs/design.md "What the core asks of an
adapter"): `Adapter` is how the core calls out, `Inbound` how adapters call in, `Service` a
running platform connection.

An adapter translates: platform events into `Inbound` calls, and `Adapter` calls into platform
calls. It owns platform deadlines (Slack's 3 s ack, Discord's defer), its rate limiter and
escaping, and holds no product rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.domain.selfcheck import CheckView
from bot.domain.standing import Home
from bot.domain.types import Actor, ChannelRef, DailyPost, Digest, Reply, Reveal, Stored
from bot.packs import Question


class Adapter(Protocol):
    platform: str

    async def post_daily(self, post: DailyPost) -> str:
        """Post the daily; return its message id (the thread's parent)."""
        ...

    async def find_daily(self, post: DailyPost) -> str | None:
        """Look for a post of this daily sent before a crash; its message id or None."""
        ...

    async def post_reveal(self, reveal: Reveal) -> None: ...

    async def post_digest(self, digest: Digest) -> str:
        """Post a weekly digest in its channel (not in a thread); return its message id.
        Names in it are plain text: never a mention."""
        ...

    async def send_dm(self, channel: ChannelRef, user_id: str, text: str) -> None:
        """A direct message to one user (a reminder), whatever channel it concerns; raises
        when it cannot be delivered."""
        ...

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None: ...

    async def send_private(
        self,
        channel: ChannelRef,
        user_id: str,
        text: str,
        thread_id: str | None = None,
        check: CheckView | None = None,
    ) -> None:
        """Show `text` to one user only: ephemeral where possible, else a DM. `check`: key
        point marks the user may flip, as checkboxes or a select under the text."""
        ...

    async def add_reaction(
        self, channel: ChannelRef, message_id: str, band: str, thread_id: str | None = None
    ) -> None:
        """The band on the answer message; `thread_id` is the daily's message (Discord's
        thread), where the answer lives."""
        ...

    async def notify_admins(self, channel: ChannelRef, text: str) -> None: ...

    async def upload_file(
        self, channel: ChannelRef, user_id: str, filename: str, data: bytes, title: str
    ) -> None:
        """Give one user a file (Slack files_upload_v2 in DM, Discord attachment, a path on
        the console)."""
        ...


class Service(Protocol):
    """A running platform connection: the adapter the core calls, plus its life cycle."""

    adapter: Adapter
    #: False for a console script, which must post nothing it did not ask for.
    wants_scheduler: bool

    async def start(self) -> None:
        """Connect and begin delivering events to the core; return once running."""
        ...

    async def wait(self) -> None:
        """Return when the service has finished on its own (the console at end of input)."""
        ...

    async def stop(self) -> None:
        """Stop taking events; called once, also after a failed start."""
        ...


class Inbound(Protocol):
    """What an adapter may ask of the core: the one way in, as `Adapter` is the one way out.

    Adapters hold this interface (the composition root hands them the object); they import no
    service, no storage and not the composition root."""

    def now(self) -> datetime:
        """The core's clock (adapters judge platform send times against it)."""
        ...

    def is_admin(self, actor: Actor) -> bool: ...

    def topics(self) -> Sequence[str]:
        """Every topic of the bank (for command choices)."""
        ...

    async def ensure_workspace(
        self, workspace_id: str, platform: str, name: str = "", timezone: str | None = None
    ) -> None: ...

    async def set_workspace_active(self, workspace_id: str, active: bool) -> None: ...

    async def ensure_channel(
        self,
        channel: ChannelRef,
        name: str = "",
        cron: str | None = ...,
        timezone: str | None = None,
    ) -> None: ...

    async def command(
        self, *, event_key: str, actor: Actor, channel: ChannelRef, text: str
    ) -> list[Reply]:
        """A `/drill ...` command (the text after `/drill`)."""
        ...

    async def on_thread_message(
        self,
        *,
        event_key: str,
        actor: Actor,
        channel: ChannelRef,
        thread_id: str,
        text: str,
        message_id: str | None = None,
        edited: bool = False,
        sent_at: datetime | None = None,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        """A message in a thread: the first one of a user under a daily is their answer.

        `on_stored` (on every answer entry point) is called as soon as the answer is
        committed, before grading: an adapter acknowledges the delivery then, not before, so
        an acknowledged answer is never lost (docs/design.md, lifecycle step 4). It is not
        called when nothing is stored (a refusal, a duplicate): the call then just returns."""
        ...

    async def on_private_answer(
        self,
        *,
        event_key: str,
        actor: Actor,
        daily_id: int,
        text: str,
        choice: bool = False,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        """The Answer privately form, or a click on an MCQ choice."""
        ...

    async def on_loose_message(
        self,
        *,
        event_key: str,
        actor: Actor,
        channel: ChannelRef,
        text: str,
        on_stored: Stored | None = None,
    ) -> list[Reply]:
        """A plain message outside a thread (the console, a DM)."""
        ...

    async def on_self_check(
        self, *, event_key: str, actor: Actor, answer_id: int, covered: Sequence[int]
    ) -> list[Reply]:
        """The key point checkboxes (Slack) or select (Discord) under a practice or mock
        grade: `covered` holds the numbers now marked covered."""
        ...

    async def daily_question(self, workspace_id: str, daily_id: int) -> Question | None:
        """The question of a daily (for the form an Answer privately button opens)."""
        ...

    async def recent_threads(self, workspace_ids: Sequence[str], since: datetime) -> list[str]:
        """Message ids of the dailies of these workspaces open at `since` or later (a
        reconnect replays their threads)."""
        ...

    async def first_time(self, workspace_id: str, key: str) -> bool:
        """Reply dedupe: True the first time this key is seen (its reply is sent once)."""
        ...

    async def home(self, workspace_id: str, user_id: str) -> Home:
        """The user's standing (Slack's App Home)."""
        ...

    async def drain(self) -> None:
        """Wait for the gradings in flight (shutdown, the console's end of input)."""
        ...


class SlackInstallation(Protocol):
    """A stored Slack installation; the token is the platform's ciphertext."""

    @property
    def team_id(self) -> str: ...
    @property
    def team_name(self) -> str: ...
    @property
    def bot_token(self) -> str: ...
    @property
    def bot_id(self) -> str: ...
    @property
    def bot_user_id(self) -> str: ...
    @property
    def installer_user_id(self) -> str | None: ...


class SlackStorage(Protocol):
    """What the Slack platform keeps in the core's database (`bot.store.slack` implements it):
    installations and the keys of posts that may have reached Slack."""

    async def save_installation(self, team_id: str, values: Mapping[str, Any]) -> None: ...

    async def installation(self, team_id: str) -> SlackInstallation | None: ...

    async def delete_installation(self, team_id: str) -> None: ...

    async def installations(self) -> Sequence[SlackInstallation]: ...

    async def replace_token(self, team_id: str, old: str, new: str) -> bool:
        """Re-encrypted token: store `new` unless the row no longer holds `old`."""
        ...

    async def record_attempt(self, workspace_id: str, key: str, now: datetime) -> None: ...

    async def attempted(self, workspace_id: str, key: str) -> datetime | None: ...


class Host(Protocol):
    """What a platform's `create(host)` entry point is given by the composition root: the
    settings, the core's inbound interface, its clock and admins, and the platform's storage.
    A platform imports this protocol, never the composition root."""

    @property
    def settings(self) -> Settings: ...
    @property
    def inbound(self) -> Inbound: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def admins(self) -> frozenset[str]: ...
    @property
    def slack_storage(self) -> SlackStorage: ...

    async def check_database(self) -> None:
        """One round-trip to the database (`/healthz`); raises when it fails."""
        ...
