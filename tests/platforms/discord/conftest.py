"""Fixtures for the Discord adapter: the fake Discord, an core over a small bank, and a
harness that starts (and restarts) the real service against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
import sqlalchemy as sa

from bot.app import App, Core, build_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.types import ChannelRef
from bot.grading.offline import OfflineGrader
from bot.packs import Bank, Question
from bot.platforms.discord.service import DiscordService
from bot.services.config import CoreConfig
from bot.store.db import Database
from bot.store.rows import DailyRow
from bot.store.tables import answers
from testing.discord.fake_discord import FakeDiscord, Json
from testing.polling import eventually

OPEN = Question(
    id="discord-overfitting",
    topic="ml",
    difficulty="easy",
    type="open",
    prompt="What is overfitting and how do you prevent it?",
    reference_answer=(
        "Overfitting is when a model memorises noise in the training data and generalises "
        "badly to new data; regularisation, cross-validation and more data help."
    ),
    key_points=[
        "A model memorises noise and generalises badly to unseen data",
        "Regularisation and early stopping limit model complexity",
        "Cross-validation detects it; more data reduces it",
    ],
)
MCQ = Question(
    id="discord-median",
    topic="stats",
    difficulty="easy",
    type="mcq",
    prompt="Which statistic is robust to outliers?",
    choices=["The mean", "The median", "The range"],
    answer="B",
    explanation="The median depends on the middle order statistic only.",
)
#: Names of the tasks discord.py runs event handlers, commands and components in.
HANDLER_TASKS = ("discord.py: ", "CommandTree-invoker", "discord-ui-")
GOOD_ANSWER = (
    "Overfitting is when a model memorises noise in the training data and generalises badly "
    "to unseen data. Regularisation and early stopping limit complexity; cross-validation "
    "detects it and more data reduces it."
)


@dataclass
class Harness:
    """The fake Discord with one server (owner `owner`, members `alice` and `bob`) and the
    core; `start()` runs the real Discord service against them, as often as a test needs."""

    fake: FakeDiscord
    core: Core
    db: Database
    clock: ManualClock
    guild: int = 0
    channel: int = 0
    owner: Json = field(default_factory=dict)
    alice: Json = field(default_factory=dict)
    bob: Json = field(default_factory=dict)
    services: list[DiscordService] = field(default_factory=list)

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef(str(self.guild), str(self.channel))

    def app(self, message_content: bool = False, **settings: Any) -> App:
        """The app around the core, with settings pointing at the fake."""
        config = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_token="fake-token",
            discord_message_content=message_content,
            discord_api_base=self.fake.api_base,
            discord_gateway_url=self.fake.gateway_url,
            **settings,
        )
        return App(config, self.db, self.core)

    async def start(self, message_content: bool = False, **settings: Any) -> DiscordService:
        app = self.app(message_content, **settings)
        # discord.py waits up to `guild_ready_timeout` for more guilds before it is ready.
        service = DiscordService(app, guild_ready_timeout=0.05)
        self.core.platforms.attach(service.adapter)
        await asyncio.wait_for(service.start(), 10)
        self.services.append(service)
        return service

    async def stop(self) -> None:
        await self.settle()
        while self.services:
            await self.services.pop().stop()

    async def settle(self) -> None:
        """Let the event handlers discord.py is still running finish (it names their tasks),
        then the gradings they started, so nothing touches the database after the test."""
        current = asyncio.current_task()
        running = [
            task
            for task in asyncio.all_tasks()
            if task is not current and task.get_name().startswith(HANDLER_TASKS)
        ]
        await asyncio.gather(*running, return_exceptions=True)
        await self.core.grading.drain()

    async def daily(self, question: Question = OPEN, ref: ChannelRef | None = None) -> DailyRow:
        """An extra daily of `question` posted now in the drill channel (`ref`)."""
        ref = ref or self.ref
        await self.core.tenants.ensure_channel(ref, name="interview-prep", cron=None)
        await self.core.store.tenancy.update_channel(
            ref.workspace_id, ref.channel_id, topics=[question.topic]
        )
        posted = await self.core.dailies.post_now(ref)
        assert posted is not None
        daily = await self.core.store.dailies.get(ref.workspace_id, posted.id)
        assert daily is not None and daily.message_id is not None
        return daily

    async def barrier(self, user: Json) -> None:
        """Return once every event of `user` sent so far is handled: the bridge handles one
        user's events in order, so a DM of theirs answered means the earlier ones are done.
        (Only while the user has no practice question waiting: the DM would answer it.)"""
        channel = self.fake.open_dm(user)
        before = len(self.fake.bot_messages(channel))
        await self.fake.say(channel, user, "barrier")
        await eventually(lambda: len(self.fake.bot_messages(channel)) > before)

    def daily_message(self, daily: DailyRow) -> Json:
        channel = int(daily.channel_id)
        return next(m for m in self.fake.messages[channel] if m["id"] == daily.message_id)

    async def answers(self, **where: object) -> list[sa.Row[object]]:
        await self.core.grading.drain()
        async with self.db.read() as conn:
            query = sa.select(answers).order_by(answers.c.id)
            for column, value in where.items():
                query = query.where(answers.c[column] == value)
            return list((await conn.execute(query)).all())


@pytest.fixture
def discord_bank() -> Bank:
    return Bank({OPEN.id: OPEN, MCQ.id: MCQ}, {"ml": "Machine learning", "stats": "Statistics"})


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """The fake on a free port; discord.py's class-level endpoints (which the service sets
    from its settings) are restored after the test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def harness(
    fake: FakeDiscord, db: Database, clock: ManualClock, discord_bank: Bank
) -> AsyncIterator[Harness]:
    core = build_core(
        db=db,
        bank=discord_bank,
        grader=OfflineGrader(),
        clock=clock,
        config=CoreConfig(admins=frozenset({"boss"})),
    )
    h = Harness(fake, core, db, clock)
    h.owner = fake.add_user("owner")
    h.alice = fake.add_user("alice")
    h.bob = fake.add_user("bob")
    h.guild, h.channel = fake.add_guild("Study group", h.owner)
    yield h
    await h.stop()
