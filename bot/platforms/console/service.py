"""The console adapter: drillbot in a terminal, the embedded default.

One workspace (`local`) and one channel (`console`). Lines starting with `/drill` are
commands, `/as NAME` switches the local user (the first one is the admin), `/quit` leaves,
and any other line is an answer (to the user's practice question, else to the most recent
open daily). Read from a pipe, the script runs line by line, waiting for each grade, with no
scheduler, so the output depends only on the script.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import stat
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.domain import render
from bot.domain.selfcheck import CheckView
from bot.domain.types import Actor, ChannelRef, DailyPost, Digest, Reply, Reveal
from bot.platforms.common.files import safe_filename
from bot.platforms.common.text import strip_masked_links, terminal_safe
from bot.ports import Host, Inbound

_log = logging.getLogger(__name__)

WORKSPACE = "local"
CHANNEL = ChannelRef(WORKSPACE, "console")
FIRST_USER = "you"


class ConsoleAdapter:
    platform = "console"

    def __init__(
        self, out: TextIO | None = None, tz: ZoneInfo | None = None, files: Path | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.tz = tz or ZoneInfo("UTC")
        self.files = files or Path("data") / "files"

    def show(self, text: str) -> None:
        """Print the core's text as a terminal shows it plainly: no escape sequence or control
        character (from a name, an answer or a model) reaches the terminal, and masked links
        are reduced to their words like on the chat platforms."""
        self.out.write(terminal_safe(strip_masked_links(text)).rstrip() + "\n\n")
        self.out.flush()

    async def post_daily(self, post: DailyPost) -> str:
        q = post.question
        closes = post.closes_at.astimezone(self.tz).strftime("%a %Y-%m-%d %H:%M %Z")
        title = "Extra question" if post.extra else "Daily question"
        self.show(
            f"=== {title} #{post.daily_id} [{q.topic} · {q.difficulty}] closes {closes} ===\n"
            f"{render.question_text(q)}\n{post.how_to_answer}"
        )
        return f"daily-{post.daily_id}"

    async def find_daily(self, post: DailyPost) -> str | None:
        return None  # a terminal keeps nothing to look for: an unconfirmed post is reprinted

    async def post_reveal(self, reveal: Reveal) -> None:
        self.show(f"=== Reveal of daily #{reveal.daily_id} ===\n{render.reveal_text(reveal)}")

    async def post_digest(self, digest: Digest) -> str:
        self.show(f"=== {digest.text()}")
        return digest.key

    async def send_dm(self, channel: ChannelRef, user_id: str, text: str) -> None:
        self.show(f"[DM to {user_id}] {text}")

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None:
        self.show(f"[thread {thread_id}] {text}")

    async def send_private(
        self,
        channel: ChannelRef,
        user_id: str,
        text: str,
        thread_id: str | None = None,
        check: CheckView | None = None,
    ) -> None:
        """The text lists the key points numbered; a terminal flips them with `/drill check`."""
        self.show(f"[to {user_id}] {text}")

    async def add_reaction(
        self, channel: ChannelRef, message_id: str, band: str, thread_id: str | None = None
    ) -> None:
        return None  # the band is in the feedback line; a terminal has no reactions

    async def notify_admins(self, channel: ChannelRef, text: str) -> None:
        self.show(f"[admin notice] {text}")

    async def upload_file(
        self, channel: ChannelRef, user_id: str, filename: str, data: bytes, title: str
    ) -> None:
        path = self.files / safe_filename(filename)
        await asyncio.to_thread(_write, path, data)
        self.show(f"[to {user_id}] {title}: saved to {path}")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class ConsoleSession:
    """Reads lines and turns them into calls of the core's inbound interface."""

    def __init__(self, adapter: ConsoleAdapter, core: Inbound) -> None:
        self.adapter = adapter
        self.core = core
        self.user = FIRST_USER
        self._run = uuid.uuid4().hex[:8]
        self._seq = itertools.count(1)

    def _actor(self) -> Actor:
        return Actor(WORKSPACE, self.user, self.user, is_admin=self.user == FIRST_USER)

    def _show(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.adapter.show(reply.text)

    async def handle_line(self, line: str) -> bool:
        """Process one line; False when the user asked to quit. A line that fails is answered
        with what failed and the session goes on (the core's replies already say whether
        anything was lost); a script never ends silently halfway."""
        try:
            return await self._line(line)
        except Exception as exc:
            _log.exception("console line failed")
            self.adapter.show(f"that failed: {type(exc).__name__}: {exc}; the session goes on.")
            return True

    async def _line(self, line: str) -> bool:
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        key = f"console-{self._run}-{next(self._seq)}"
        if text.startswith("/as"):
            name = text[3:].strip()
            if not name or " " in name:
                self._show([Reply("Usage: /as NAME (one word)")])
            else:
                self.user = name
                self._show([Reply(f"You are now {name}.")])
        elif text.startswith("/drill") or text == "/help":
            body = text.removeprefix("/drill") if text != "/help" else "help"
            self._show(
                await self.core.command(
                    event_key=key, actor=self._actor(), channel=CHANNEL, text=body
                )
            )
        elif text.startswith("/"):
            self._show(
                [
                    Reply(
                        "Commands start with /drill (try /drill help); /as NAME switches "
                        "user; /quit leaves."
                    )
                ]
            )
        else:
            self._show(
                await self.core.on_loose_message(
                    event_key=key, actor=self._actor(), channel=CHANNEL, text=text
                )
            )
        await self.core.drain()
        return True

    async def run(self, stream: TextIO, interactive: bool) -> None:
        if interactive:
            self.adapter.show(
                "drillbot console: answer with a plain line, `/drill help` for "
                "commands, `/as NAME` to switch user, `/quit` to leave."
            )
        async for line in read_lines(stream):
            if not await self.handle_line(line):
                break


async def read_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines of stdin without blocking the loop: a pipe or terminal is read by the loop itself
    (so Ctrl-C or SIGTERM stop at once); a regular file or a device that is no terminal
    (`/dev/null`), which the loop cannot watch, by a thread (it reaches end of file)."""
    mode = os.fstat(stream.fileno()).st_mode
    if stat.S_ISREG(mode) or (stat.S_ISCHR(mode) and not stream.isatty()):
        while line := await asyncio.to_thread(stream.readline):
            yield line
        return
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
    while line_bytes := await reader.readline():
        yield line_bytes.decode("utf-8", errors="replace")


class ConsoleService:
    """The console as a service: reads standard input until its end or `/quit`."""

    def __init__(self, session: ConsoleSession, interactive: bool) -> None:
        self.session = session
        self.adapter = session.adapter
        self.interactive = interactive
        self.wants_scheduler = interactive
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader = asyncio.ensure_future(self.session.run(sys.stdin, self.interactive))

    async def wait(self) -> None:
        if self._reader is not None:
            await asyncio.shield(self._reader)

    async def stop(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def create(app: Host) -> ConsoleService:
    """The local workspace and channel (default schedule on first start), and the session."""
    settings = app.settings
    adapter = ConsoleAdapter(tz=ZoneInfo(settings.timezone))
    await app.inbound.ensure_workspace(WORKSPACE, "console", "local", settings.timezone)
    await app.inbound.ensure_channel(CHANNEL, name="console")
    return ConsoleService(ConsoleSession(adapter, app.inbound), sys.stdin.isatty())
