"""Slack fixtures: the fake Slack, and the real Slack service (AsyncApp and its aiohttp
server on a loopback port) wired to the shared `core` and `db` fixtures.

The fake paces messages at 50 ms per channel (Slack: 1 s) and the service's limiter matches,
so the suite stays fast; the tests of pacing itself use Slack's real second.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from bot.app import App, Core, build_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.types import ChannelRef
from bot.grading.offline import OfflineGrader
from bot.packs import Bank
from bot.platforms.slack.limits import Limits
from bot.platforms.slack.service import SlackService, build_service
from bot.store.db import Database
from bot.store.rows import DailyRow
from testing.slack import payloads as p
from testing.slack.fake_slack import FakeSlack

FAST = Limits(channel_interval=0.05)


def slack_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_mode": "http",
        "slack_signing_secret": p.SECRET,
        "slack_bot_token": "xoxb-T1",
        "slack_api_url": fake.api_url,
        "http_host": "127.0.0.1",
        "http_port": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Sent:
    status: int
    text: str
    seconds: float


@dataclass
class Harness:
    """A started Slack service and ways to talk to it as Slack does."""

    service: SlackService
    fake: FakeSlack
    core: Core
    session: aiohttp.ClientSession
    ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    def next_ts(self) -> str:
        return f"1800000000.{next(self.ids):06d}"

    def next_id(self, prefix: str = "Ev") -> str:
        return f"{prefix}{next(self.ids):06d}"

    async def send(
        self, encoded: tuple[str, str], headers: dict[str, str] | None = None, signed: bool = True
    ) -> Sent:
        body, content_type = encoded
        sent_headers = (
            p.signed_headers(body, content_type) if signed else {"Content-Type": content_type}
        )
        sent_headers.update(headers or {})
        started = time.perf_counter()
        async with self.session.post(
            f"{self.url}/slack/events", data=body.encode(), headers=sent_headers
        ) as response:
            text = await response.text()
        return Sent(response.status, text, time.perf_counter() - started)

    async def event(self, body: dict[str, Any], **headers: str) -> Sent:
        return await self.send(p.json_body(body), headers)

    async def interaction(self, payload: dict[str, Any]) -> Sent:
        return await self.send(p.interaction_body(payload))

    async def command(self, team: str, channel: str, user: str, text: str) -> Sent:
        trigger = self.next_id("trig")
        fields = p.command(team, channel, user, text, self.fake.response_url(trigger), trigger)
        return await self.send(p.form_body(fields))

    async def daily(self, team: str, channel: str) -> DailyRow:
        """Post a daily now (as `/drill post-now` does) and return it as confirmed."""
        ref = ChannelRef(team, channel)
        await self.core.tenants.ensure_channel(ref, name=f"drills-{channel.lower()}")
        reserved = await self.core.dailies.post_now(ref)
        assert reserved is not None
        daily = await self.core.store.dailies.get(team, reserved.id)
        assert daily is not None and daily.message_id
        return daily

    async def close(self) -> None:
        await self.session.close()
        await self.service.stop()


Factory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    server = await FakeSlack(
        channel_interval=FAST.channel_interval, clock=lambda: clock.now().timestamp()
    ).start()
    for team in ("T1", "T2"):
        server.add_team(team)
        server.add_user(team, "UADMIN", "Ada", admin=True)
        server.add_user(team, "U1", f"Uma of {team}")
        server.add_user(team, "U2", f"Ugo of {team}")
    yield server
    await server.stop()


@pytest.fixture
async def slack(
    db: Database, core: Core, fake: FakeSlack
) -> AsyncIterator[Factory]:
    """Start a Slack service: `await slack(**settings)`; another core may be passed."""
    started: list[Harness] = []

    async def make(
        core: Core = core,
        limits: Limits = FAST,
        before_start: Callable[[App], Awaitable[None]] | None = None,
        **settings: Any,
    ) -> Harness:
        app = App(slack_settings(fake, **settings), db, core)
        if before_start is not None:
            await before_start(app)
        service = await build_service(app, limits)
        core.platforms.attach(service.adapter)
        await service.start()
        harness = Harness(service, fake, core, aiohttp.ClientSession())
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.close()


@pytest.fixture
def sqlite_only(request: pytest.FixtureRequest) -> None:
    """For tests of timing, not storage: one backend is enough, and each costs seconds."""
    if request.node.callspec.params.get("db") != "sqlite":
        pytest.skip("a timing test: run on SQLite only")


@pytest.fixture
def mcq_core(db: Database, bank: Bank, clock: ManualClock) -> Core:
    """A core whose dailies are all multiple choice."""
    mcq = Bank({qn.id: qn for qn in bank if qn.type == "mcq"}, bank.topics)
    return build_core(db=db, bank=mcq, grader=OfflineGrader(), clock=clock)


@pytest.fixture
def writes(db: Database) -> Iterator[list[str]]:
    """Every INSERT, UPDATE or DELETE the database runs while the test does."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine.sync_engine, "before_cursor_execute", record)
