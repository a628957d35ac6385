"""Every exception of drillbot's own, in one tree, so a reader finds what can go wrong in one place.

Each keeps the base class callers relied on before it moved here: `CronError`, `UsageError`
and `PromptError` are `ValueError`s (a bad value), `CircuitOpen` and `UnusableOutput` (in
`bot.grading`) are `GraderUnavailable`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.types import ChannelRef


class DrillbotError(Exception):
    """The root: something drillbot itself detected."""


class CronError(DrillbotError, ValueError):
    """A cron spec that cannot be used; the message says which field and why."""


class UsageError(DrillbotError, ValueError):
    """A malformed command; the message is what the user sees."""


class PackError(DrillbotError):
    """A pack broke a rule; `problems` has one line per problem naming file, id and field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PromptError(DrillbotError, ValueError):
    """A template is missing, has no version or lacks a block (a broken install or edit)."""


class StartupError(DrillbotError):
    """The bot cannot start; the message says why and what to change."""


class GraderUnavailable(DrillbotError):
    """The grader could not grade now (outage, timeout); the answer stays stored for a retry."""


class ModelUnavailable(DrillbotError, RuntimeError):
    """The offline grader's packaged model is missing or is not the file this version was
    measured with (its sha256 differs): a broken install, reported as such."""


class ChannelUnavailable(DrillbotError):
    """The platform refuses posts to this channel (not in channel, deleted, forbidden).

    The dailies service reacts by marking the channel inactive and telling an admin once."""

    def __init__(self, channel: ChannelRef, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel.channel_id}: {reason}")


class AnswerNotSaved(DrillbotError):
    """The database refused an answer (full, read-only, gone): nothing of it was stored.
    `trouble` says why in a user's words; the inbound gateway tells the user."""

    def __init__(self, trouble: str) -> None:
        self.trouble = trouble
        super().__init__(trouble)


class ServiceFailed(DrillbotError):
    """A running platform service stopped with an error; `drillbot run` exits non-zero."""


class RateLimited(DrillbotError):
    """The platform refused a call for now; send it again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limited; retry after {retry_after} s")


class WorkspaceGone(DrillbotError):
    """No installation (any more) for this workspace: uninstalled or never installed."""
