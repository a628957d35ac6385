"""A recording adapter: a platform that keeps what the core asked it to show.

It implements the adapter protocol for real (it is the platform in core tests); the core
under test is never replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.selfcheck import CheckView
from bot.domain.types import ChannelRef, DailyPost, Digest, Reveal
from bot.errors import ChannelUnavailable
from bot.grading.base import Grade, Grader, GradeRequest, Judgment, graded


@dataclass
class RecordingAdapter:
    platform: str = "test"
    posts: list[DailyPost] = field(default_factory=list)
    reveals: list[Reveal] = field(default_factory=list)
    digests: list[Digest] = field(default_factory=list)
    dms: list[tuple[str, str]] = field(default_factory=list)  # (user, text)
    dm_refused: set[str] = field(default_factory=set)  # users whose DMs fail
    order: list[str] = field(default_factory=list)  # "daily" / "digest", as posted
    private: list[tuple[str, str]] = field(default_factory=list)  # (user, text)
    checks: list[tuple[str, CheckView]] = field(default_factory=list)  # self-check controls
    thread: list[tuple[str, str]] = field(default_factory=list)  # (thread, text)
    reactions: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (user, name, bytes)
    unavailable: set[str] = field(default_factory=set)
    sent_keys: dict[str, str] = field(default_factory=dict)  # post key -> message id
    fail_next_post: bool = False

    async def post_daily(self, post: DailyPost) -> str:
        if post.channel.channel_id in self.unavailable:
            raise ChannelUnavailable(post.channel, "not_in_channel")
        message_id = f"m{len(self.posts) + 1}"
        self.posts.append(post)
        self.order.append("daily")
        self.sent_keys[post.key] = message_id
        if self.fail_next_post:  # sent, but the process "crashes" before confirming it
            self.fail_next_post = False
            raise ConnectionError("lost after sending")
        return message_id

    async def find_daily(self, post: DailyPost) -> str | None:
        return self.sent_keys.get(post.key)

    async def post_reveal(self, reveal: Reveal) -> None:
        self.reveals.append(reveal)

    async def post_digest(self, digest: Digest) -> str:
        self.digests.append(digest)
        self.order.append("digest")
        return f"digest-{len(self.digests)}"

    async def send_dm(self, channel: ChannelRef, user_id: str, text: str) -> None:
        if user_id in self.dm_refused:
            raise ConnectionError(f"{user_id} takes no DMs")
        self.dms.append((user_id, text))

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None:
        self.thread.append((thread_id, text))

    async def send_private(
        self,
        channel: ChannelRef,
        user_id: str,
        text: str,
        thread_id: str | None = None,
        check: CheckView | None = None,
    ) -> None:
        self.private.append((user_id, text))
        if check is not None:
            self.checks.append((user_id, check))

    async def add_reaction(
        self, channel: ChannelRef, message_id: str, band: str, thread_id: str | None = None
    ) -> None:
        self.reactions.append((message_id, band))

    async def notify_admins(self, channel: ChannelRef, text: str) -> None:
        self.notices.append(text)

    async def upload_file(
        self, channel: ChannelRef, user_id: str, filename: str, data: bytes, title: str
    ) -> None:
        self.files.append((user_id, filename, data))


class FlakyGrader:
    """Stands in for an LLM endpoint that is down until `fail` is cleared."""

    name, version = "flaky", "1"

    def __init__(self, inner: Grader) -> None:
        self.inner = inner
        self.fail = True

    async def grade(self, request: GradeRequest) -> Grade:
        if self.fail:
            raise TimeoutError("grader down")
        return await self.inner.grade(request)


class FixedGrader:
    """A grader whose verdict is known in advance, to tell grades apart in tests."""

    name, version = "fixed", "1"

    def __init__(self, score: int) -> None:
        self.score = score

    async def grade(self, request: GradeRequest) -> Grade:
        return Grade(score=self.score, grader=self.name, grader_version=self.version)


class MarkingGrader:
    """Marks the first `covered` key points of the rubric it is given covered and the rest
    missed (the one formula scores them), and keeps every request it saw."""

    name, version = "marking", "1"

    def __init__(self, covered: int, misconceptions: Sequence[str] = ()) -> None:
        self.covered = covered
        self.misconceptions = list(misconceptions)
        self.requests: list[GradeRequest] = []

    async def grade(self, request: GradeRequest) -> Grade:
        self.requests.append(request)
        judgments = [
            Judgment(key_point=kp.text, credit=1.0 if i < self.covered else 0.0)
            for i, kp in enumerate(request.rubric)
        ]
        return graded(
            judgments,
            request.rubric,
            misconceptions=self.misconceptions,
            grader=self.name,
            grader_version=self.version,
        )
