"""The vocabulary between the core and adapters: who acts, where, and what is shown.

Adapters turn platform events into these values and render the core's values on their
platform; nothing here knows a platform. Texts are plain; adapters escape them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.selfcheck import CheckView
from bot.packs import Question

#: Called once an answer is committed: the adapter acknowledges the platform's delivery then.
Stored = Callable[[], None]


@dataclass(frozen=True)
class ChannelRef:
    """A channel (or DM) in a workspace."""

    workspace_id: str
    channel_id: str


@dataclass(frozen=True)
class Actor:
    """The user behind an event. `is_admin` is what the platform says (Slack admin/owner,
    Discord Manage Server, the console's first user); DRILLBOT_ADMINS is added by the core."""

    workspace_id: str
    user_id: str
    name: str = ""
    is_admin: bool = False


@dataclass(frozen=True)
class Reply:
    """A message for the user who caused an event (ephemeral where the platform can).
    `check`: key point marks the user may flip (platforms add checkboxes or a select; the
    text already lists them, numbered, for `/drill check N ...`)."""

    text: str
    check: CheckView | None = None


@dataclass(frozen=True)
class DailyPost:
    """Everything an adapter needs to post a daily: the question, when it closes, and the
    reservation key a platform can store with the post (Slack metadata, Discord nonce) so a
    post reserved before a crash is found again instead of sent twice."""

    daily_id: int
    channel: ChannelRef
    question: Question
    closes_at: datetime
    extra: bool
    how_to_answer: str

    @property
    def key(self) -> str:
        return f"drillbot-daily-{self.channel.workspace_id}-{self.daily_id}"


@dataclass(frozen=True)
class TopAnswer:
    name: str
    score: int
    text: str


@dataclass(frozen=True)
class Reveal:
    """What is shown in the daily's thread at close."""

    daily_id: int
    channel: ChannelRef
    thread_id: str
    question: Question
    answered: int
    top: list[TopAnswer] = field(default_factory=list)
    pending: int = 0


@dataclass(frozen=True)
class Digest:
    """A channel's weekly digest: a title and labelled facts, each platform laying them out
    natively (Block Kit sections, embed fields, lines). `sections` is empty for a week with
    no answers: the title alone says so."""

    channel: ChannelRef
    week: str
    title: str
    sections: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"drillbot-digest-{self.channel.workspace_id}-{self.channel.channel_id}-{self.week}"

    def text(self) -> str:
        """The plain-text form (the console, and notification fallbacks)."""
        return "\n".join([self.title, *(f"{label}: {body}" for label, body in self.sections)])
