"""Assembly: settings -> bank, database, grader, engine, adapters; and the run loop.

Start-up refuses a broken pack (naming file, question and field) and migrates the database;
it opens no network connection on the embedded default.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.adapters.console import CHANNEL, WORKSPACE, ConsoleAdapter, ConsoleSession
from bot.clock import Clock, ScaledClock, SystemClock
from bot.config import Platform, Settings
from bot.core.engine import Engine, EngineConfig
from bot.core.handlers import Commands
from bot.core.scheduler import Ticker
from bot.grading.base import Grader
from bot.grading.offline import OfflineGrader
from bot.packs import load_bank
from bot.store.db import Database

_log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 20.0


class StartupError(Exception):
    """The bot cannot start; the message says why and what to change."""


def make_grader(settings: Settings) -> Grader:
    if settings.grader_name == "llm":
        _log.warning("the LLM grader is not part of this build yet; grading offline")
    return OfflineGrader()


@dataclass
class App:
    settings: Settings
    db: Database
    engine: Engine
    commands: Commands

    @classmethod
    async def build(cls, settings: Settings, clock: Clock | None = None) -> App:
        bank = await asyncio.to_thread(load_bank, settings.pack_paths)
        db = Database(settings.database_url)
        await db.migrate()
        engine = Engine(
            db=db,
            bank=bank,
            grader=make_grader(settings),
            clock=clock or SystemClock(),
            config=EngineConfig(
                default_timezone=settings.timezone,
                catchup=timedelta(hours=settings.catchup_hours),
                admins=frozenset(settings.admins),
            ),
        )
        return cls(settings, db, engine, Commands(engine))

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.engine.drain(), SHUTDOWN_GRACE)
        except TimeoutError:
            _log.warning("stopped with grades in flight; they are graded at the next start")
        await self.db.close()


async def run(settings: Settings, platforms: Sequence[Platform], speed: float = 1.0) -> None:
    unsupported = [p for p in platforms if p != "console"]
    if unsupported:
        raise StartupError(
            f"platform(s) {', '.join(unsupported)} are not available in this build "
            "yet; run with --platform console"
        )
    interactive = sys.stdin.isatty()
    clock: Clock = ScaledClock(speed) if speed != 1.0 else SystemClock()
    app = await App.build(settings, clock)
    adapter = ConsoleAdapter(tz=ZoneInfo(settings.timezone))
    app.engine.attach(adapter)
    await app.engine.ensure_workspace(WORKSPACE, "console", "local", settings.timezone)
    await app.engine.ensure_channel(CHANNEL, name="console")
    ticker = Ticker(app.engine, settings.tick_seconds / speed)
    # A script is deterministic: nothing is posted that it did not ask for (DESIGN.md).
    if interactive and settings.scheduler:
        ticker.start()
    session = ConsoleSession(adapter, app.commands)
    reader = asyncio.ensure_future(session.run(sys.stdin, interactive))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, reader.cancel)
    try:
        await reader
    except asyncio.CancelledError:
        pass
    finally:
        ticker.stop()
        await app.close()
