"""Assembly: settings -> bank, database, grader, engine, adapters; and the run loop.

Start-up refuses a broken pack (naming file, question and field) and migrates the database;
it opens no network connection on the embedded default.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, ScaledClock, SystemClock
from bot.config import Platform, Settings
from bot.core.coach import LLMCoach, TextCoach
from bot.core.engine import Engine, EngineConfig
from bot.core.handlers import Commands
from bot.core.ports import Service
from bot.core.scheduler import Ticker
from bot.grading.base import Grader
from bot.grading.offline import OfflineGrader
from bot.packs import load_bank
from bot.store.db import Database

_log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 20.0
#: However fast the demo clock runs, tick at most once a second of real time.
MIN_TICK_SECONDS = 1.0


class StartupError(Exception):
    """The bot cannot start; the message says why and what to change."""


def make_grader(settings: Settings) -> Grader:
    """The configured grader: the LLM's when an endpoint is set (DESIGN.md), else offline.

    The openai SDK is an optional extra, so it is imported only when the LLM grader is used.
    """
    if settings.grader_name != "llm":
        return OfflineGrader()
    try:
        from bot.grading.llm import LLMGrader
    except ModuleNotFoundError as exc:
        raise StartupError(f"the llm grader needs the llm extra (openai>=3): {exc}") from exc
    try:
        return LLMGrader.from_settings(settings)
    except ValueError as exc:
        raise StartupError(str(exc)) from exc


@dataclass
class App:
    settings: Settings
    db: Database
    engine: Engine
    commands: Commands

    @classmethod
    async def build(cls, settings: Settings, clock: Clock | None = None) -> App:
        bank = await asyncio.to_thread(load_bank, settings.pack_paths)
        grader = make_grader(settings)
        db = Database(settings.database_url)
        await db.migrate()
        await db.optimize()
        engine = Engine(
            db=db,
            bank=bank,
            grader=grader,
            fallback=OfflineGrader() if grader.name == "llm" else None,
            coach=LLMCoach(grader) if isinstance(grader, TextCoach) else None,
            clock=clock or SystemClock(),
            config=EngineConfig(
                default_timezone=settings.timezone,
                catchup=timedelta(hours=settings.catchup_hours),
                admins=frozenset(settings.admins),
                practice_limit=settings.practice_limit,
            ),
        )
        return cls(settings, db, engine, Commands(engine))

    async def check_database(self) -> None:
        """One round-trip to the database (what `/healthz` reports); raises when it fails."""
        async with self.db.read() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.engine.drain(), SHUTDOWN_GRACE)
        except TimeoutError:
            _log.warning("stopped with grades in flight; they are graded at the next start")
        await self.db.close()
        closer = getattr(self.engine.grading.grader, "aclose", None)
        if closer is not None:
            await closer()


#: Where each platform's service lives; imported only when that platform runs, so the
#: default install never loads slack_bolt or discord.
SERVICES: dict[str, str] = {
    "console": "bot.platforms.console.service",
    "slack": "bot.platforms.slack.service",
    "discord": "bot.platforms.discord.service",
}


async def create_service(platform: str, app: App) -> Service:
    try:
        module = importlib.import_module(SERVICES[platform])
    except ModuleNotFoundError as exc:
        raise StartupError(f"the {platform} adapter is not available: {exc}") from exc
    service: Service = await module.create(app)
    app.engine.attach(service.adapter)
    return service


async def run(settings: Settings, platforms: Sequence[Platform], speed: float = 1.0) -> None:
    """Run the platforms until each has finished (the console at end of input) or a signal."""
    clock: Clock = ScaledClock(speed) if speed != 1.0 else SystemClock()
    app = await App.build(settings, clock)
    services: list[Service] = []
    ticker = Ticker(app.engine, max(MIN_TICK_SECONDS, settings.tick_seconds / speed))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for platform in platforms:
            services.append(await create_service(platform, app))
        for service in services:
            await service.start()
        if settings.scheduler and all(s.wants_scheduler for s in services):
            ticker.start()
        finished = asyncio.gather(*(s.wait() for s in services))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([finished, stopper], return_when=asyncio.FIRST_COMPLETED)
        for future in (finished, stopper):
            future.cancel()
        await asyncio.gather(finished, stopper, return_exceptions=True)
    finally:
        ticker.stop()
        for service in services:
            await service.stop()
        await app.close()
