"""Several real `drillbot` processes on one PostgreSQL database: the scale-out tests and bench.

`scratch_database` creates a database of its own on the server (dropped afterwards);
`Cluster` starts `drillbot run --platform slack` processes in Slack HTTP + OAuth mode against
a fake Slack Web API, each on its own loopback port, waits until each serves `/healthz` and
has joined (its heartbeat row in `claims`), and can kill one with SIGKILL. `seed` installs
workspaces (tokens encrypted as the processes read them) and bulk-creates drill channels whose
slot is the current minute, so they fall due together.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import ManualClock
from bot.platforms.slack.installations import InstallationStore, TokenCipher
from bot.store.db import Database
from bot.store.slack import SlackRecords
from bot.store.tables import channels, claims, workspaces
from testing.slack import payloads

ROOT = Path(__file__).resolve().parent.parent
#: A fixed Fernet key (32 bytes, urlsafe base64), shared by every process of the cluster.
SECRET_KEY = "ZHJpbGxib3Qgc2NhbGUtb3V0IGNsdXN0ZXIga2V5ISE="
SIGNING_SECRET = "cluster-signing-secret"
READY_SECONDS = 60.0


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url`; its URL; dropped on exit."""
    name = f"scale_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Member:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"


@dataclass
class Cluster:
    """`size` drillbot processes sharing `database_url`, with these extra settings."""

    database_url: str
    slack_api_url: str
    workdir: Path
    size: int = 3
    tick_seconds: float = 1.0
    env: Mapping[str, str] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)

    def settings(self, port: int) -> dict[str, str]:
        return {
            "DRILLBOT_DATABASE_URL": self.database_url,
            "DRILLBOT_TICK_SECONDS": str(self.tick_seconds),
            "DRILLBOT_HTTP_HOST": "127.0.0.1",
            "DRILLBOT_HTTP_PORT": str(port),
            "DRILLBOT_SECRET_KEY": SECRET_KEY,
            "DRILLBOT_GRADER": "offline",
            "SLACK_MODE": "http",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_CLIENT_ID": "111.222",
            "SLACK_CLIENT_SECRET": "client-secret",
            "SLACK_API_URL": self.slack_api_url,
            **self.env,
        }

    async def start(self, join: bool = True) -> None:
        """Start every process at once; wait until each serves (and, with `join`, has
        announced itself, so a fan-out's shares count it)."""
        for n in range(self.size):
            port = _free_port()
            log = self.workdir / f"drillbot-{n}.log"
            env = {**os.environ, **self.settings(port), "PYTHONUNBUFFERED": "1"}
            env.pop("OPENAI_API_KEY", None)
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", "--platform", "slack",
                    cwd=self.workdir, env=env, stdout=out, stderr=out,
                    stdin=asyncio.subprocess.DEVNULL,
                )
            self.members.append(Member(port, process, log))
        await asyncio.gather(*(self._ready(m) for m in self.members))
        if join:
            await self.wait_joined(self.size)

    async def _ready(self, member: Member) -> None:
        deadline = time.monotonic() + READY_SECONDS
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if member.process.returncode is not None:
                    raise RuntimeError(f"drillbot exited: {member.log.read_text()[-3000:]}")
                try:
                    async with session.get(f"http://127.0.0.1:{member.port}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"drillbot did not serve: {member.log.read_text()[-3000:]}")

    async def wait_joined(self, count: int) -> None:
        """Until `count` processes have renewed their heartbeat row."""
        db = Database(self.database_url)
        try:
            for _ in range(int(READY_SECONDS / 0.2)):
                async with db.read() as conn:
                    live = await conn.scalar(
                        sa.select(sa.func.count()).where(
                            claims.c.name.like("worker:%"), claims.c.lease_at.is_not(None)
                        )
                    )
                if (live or 0) >= count:
                    return
                await asyncio.sleep(0.2)
        finally:
            await db.close()
        raise TimeoutError("the processes did not all join")

    def member_of(self, owner: str) -> Member:
        """The process an owner id names (`host-pid-random`)."""
        pid = int(owner.rsplit("-", 2)[1])
        return next(m for m in self.members if m.process.pid == pid)

    def kill(self, member: Member) -> None:
        member.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM every live process; SIGKILL whatever has not exited after a grace."""
        for m in self.members:
            if m.process.returncode is None:
                m.process.send_signal(signal.SIGTERM)
        for m in self.members:
            try:
                await asyncio.wait_for(m.process.wait(), 15)
            except TimeoutError:
                m.process.send_signal(signal.SIGKILL)
                await m.process.wait()


async def seed(database_url: str, teams: list[str], per_team: int) -> float:
    """Install `teams` and give each `per_team` drill channels (`C0000`...) whose daily slot is
    the current UTC minute, created in one transaction so they fall due together; returns
    when (wall-clock seconds) that transaction committed: the instant they fell due."""
    now = datetime.now(UTC)
    slot = now.replace(second=0, microsecond=0)
    since = slot - timedelta(minutes=5)
    db = Database(database_url)
    try:
        await db.migrate()
        store = InstallationStore(SlackRecords(db), TokenCipher([SECRET_KEY]), ManualClock(since))
        for team in teams:
            await store.async_save(
                Installation(
                    app_id="A111", team_id=team, team_name=f"team {team}",
                    bot_token=f"xoxb-{team}", bot_id=f"BB{team}", bot_user_id=f"UB{team}",
                    user_id="UADMIN",
                )
            )
        rows: list[dict[str, Any]] = [
            {
                "workspace_id": team, "id": f"C{n:04d}", "name": f"drill-{n}",
                "cron": f"{slot.minute} {slot.hour} * * *", "timezone": "UTC", "topics": [],
                "difficulty": "mixed", "feedback": "private",
                "schedule_since": since, "created_at": since,
            }
            for team in teams
            for n in range(per_team)
        ]
        async with db.write() as conn:
            await conn.execute(
                db.insert_ignore(workspaces),
                [
                    {"id": t, "platform": "slack", "name": f"team {t}", "timezone": "UTC",
                     "created_at": since}
                    for t in teams
                ],
            )
            if rows:
                await conn.execute(channels.insert(), rows)
        due = time.time()
    finally:
        await db.close()
    return due


async def send_event(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], retry: int = 0
) -> int:
    """Deliver one signed Slack event (a redelivery carries `X-Slack-Retry-Num`)."""
    raw, content_type = payloads.json_body(body)
    headers = payloads.signed_headers(raw, content_type, SIGNING_SECRET)
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    async with session.post(url, data=raw.encode(), headers=headers) as response:
        await response.read()
        return response.status
