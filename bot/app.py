"""The composition root: settings -> bank, database, grader, services, platforms; the run loop.

`build_core` wires every service with the collaborators it needs (repositories, clock, bank,
grader, the platform registry); no service finds another by itself. Platforms get `Core.inbound`
(the `bot.ports.Inbound` interface) and nothing else of the core.

Start-up refuses a broken pack (naming file, question and field) and migrates the database;
it opens no network connection on the embedded default.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from bot.clock import Clock, ScaledClock, SystemClock
from bot.config import Platform, Settings
from bot.errors import ServiceFailed, StartupError
from bot.grading.base import Grader
from bot.grading.offline import OfflineGrader
from bot.packs import Bank, load_bank
from bot.ports import Service
from bot.services.coach import Coach, LLMCoach, OfflineCoach, TextCoach
from bot.services.commands import Collaborators, Commands
from bot.services.config import CoreConfig
from bot.services.dailies import DailyLifecycle, Housekeeping, Step, Tick
from bot.services.dashboard import Dashboard
from bot.services.grading import GradingQueue
from bot.services.inbound import Gateway
from bot.services.intake import Intake
from bot.services.leases import Chore, Heartbeat
from bot.services.mock import MockInterviews
from bot.services.platforms import Platforms
from bot.services.practice import Planner, Practice
from bot.services.quota import Quota
from bot.services.scheduler import Ticker
from bot.services.selfcheck import SelfCheck
from bot.services.team import TeamPractice
from bot.services.tenants import Tenants
from bot.store import Store
from bot.store.db import Database
from bot.store.jobs import GradingJobs
from bot.store.reserve import Claims, Holder
from bot.store.slack import SlackRecords

_log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 20.0
#: However fast the demo clock runs, tick at most once a second of real time.
MIN_TICK_SECONDS = 1.0
#: A lease lasts this many tick intervals without renewal (the holder renews every interval).
LEASE_TICKS = 2


def process_holder(lease: timedelta) -> Holder:
    """This process as a lease holder: host, pid and a random part (a restarted process with
    a recycled pid must not inherit its predecessor's leases)."""
    owner = f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return Holder(owner, lease)


def make_grader(settings: Settings) -> Grader:
    """The configured grader: the LLM's when an endpoint is set (docs/design.md), else offline.

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


@dataclass(frozen=True)
class Core:
    """Every service of one process, wired once. Adapters see only `inbound`."""

    db: Database
    store: Store
    bank: Bank
    clock: Clock
    config: CoreConfig
    platforms: Platforms
    tenants: Tenants
    grading: GradingQueue
    quota: Quota
    intake: Intake
    dailies: DailyLifecycle
    practice: Practice
    mock: MockInterviews
    dashboard: Dashboard
    team: TeamPractice
    commands: Commands
    inbound: Gateway
    tick: Tick
    heartbeat: Heartbeat


def build_core(
    *,
    db: Database,
    bank: Bank,
    grader: Grader,
    clock: Clock,
    fallback: Grader | None = None,
    coach: Coach | None = None,
    config: CoreConfig | None = None,
    holder: Holder | None = None,
) -> Core:
    """Wire the services. On PostgreSQL grading runs as leased jobs (several processes may
    share the database); on SQLite through the in-process queue alone."""
    config = config or CoreConfig()
    holder = holder or process_holder(config.lease)
    store = Store.over(db)
    claims = Claims(db)
    platforms = Platforms(store.tenancy, clock)
    tenants = Tenants(store.tenancy, clock, config)
    grading = GradingQueue(
        answers=store.answers,
        dailies=store.dailies,
        bank=bank,
        clock=clock,
        platforms=platforms,
        grader=grader,
        fallback=fallback,
        concurrency=config.grading_concurrency,
        jobs=None if db.is_sqlite else GradingJobs(db, holder),
    )
    quota = Quota(units=store.units, clock=clock, limit=config.practice_limit)
    intake = Intake(answers=store.answers, clock=clock, quota=quota, grading=grading)
    dailies = DailyLifecycle(
        tenancy=store.tenancy,
        dailies=store.dailies,
        bank=bank,
        clock=clock,
        platforms=platforms,
        config=config,
        claims=claims,
        holder=holder,
        skips=store.skips,
    )
    team = TeamPractice(
        team=store.team,
        boards=store.boards,
        skips=store.skips,
        tenancy=store.tenancy,
        bank=bank,
        clock=clock,
        platforms=platforms,
        grader=grader,
    )
    dailies.before_post.append(team.digest_before)
    planner = Planner(reviews=store.reviews, answers=store.answers, bank=bank)
    practice = Practice(
        sessions=store.sessions, planner=planner, bank=bank, clock=clock, quota=quota, intake=intake
    )
    mock = MockInterviews(
        sessions=store.sessions,
        planner=planner,
        bank=bank,
        clock=clock,
        coach=coach or OfflineCoach(),
        intake=intake,
        quota=quota,
    )
    selfcheck = SelfCheck(answers=store.answers, checks=store.selfchecks, bank=bank, clock=clock)
    dashboard = Dashboard(
        tenancy=store.tenancy,
        tenants=tenants,
        boards=store.boards,
        answers=store.answers,
        planner=planner,
        clock=clock,
        team=team,
    )
    commands = Commands(
        Collaborators(
            store=store,
            bank=bank,
            clock=clock,
            platforms=platforms,
            tenants=tenants,
            dailies=dailies,
            grading=grading,
            quota=quota,
            practice=practice,
            mock=mock,
            dashboard=dashboard,
            selfcheck=selfcheck,
            team=team,
        )
    )
    inbound = Gateway(
        bank=bank,
        clock=clock,
        tenancy=store.tenancy,
        dailies=store.dailies,
        tenants=tenants,
        intake=intake,
        practice=practice,
        mock=mock,
        commands=commands,
        dashboard=dashboard,
        grading=grading,
        selfcheck=selfcheck,
    )
    chores = Housekeeping(store.tenancy, clock, db.optimize)
    settle = config.step_settle

    def chore(name: str, step: Step) -> Chore:
        return Chore(name, step, claims, holder, clock)

    tick = Tick(
        # Posting waits at most one tick interval for its fan-outs: it must come round every
        # tick to take over workspaces whose claim lapsed (the fan-outs still running here are
        # left alone), so takeover after a dead process stays within two lease lengths.
        partial(dailies.post_due, settle=min(settle, config.lease.total_seconds() / LEASE_TICKS)),
        [
            chore("close", partial(dailies.close_due, settle=settle)),
            chore("reveal", partial(dailies.reveal_missed, settle=settle)),
            team.remind_due,  # each reminder is reserved and taken on its own (bot.store.team)
            grading.retry,  # each job is claimed on its own (bot.store.jobs)
            chore("forget-events", chores.forget_old_events),
            chore("forget-units", quota.forget_old),
            chores.daily_maintenance,  # SQLite's statistics: per process, none on PostgreSQL
        ],
    )
    renewers = [store.dailies.renew_posts]
    if grading.jobs is not None:
        renewers.append(grading.jobs.renew)
    heartbeat = Heartbeat(claims, holder, clock, renewers)
    return Core(
        db=db,
        store=store,
        bank=bank,
        clock=clock,
        config=config,
        platforms=platforms,
        tenants=tenants,
        grading=grading,
        quota=quota,
        intake=intake,
        dailies=dailies,
        practice=practice,
        mock=mock,
        dashboard=dashboard,
        team=team,
        commands=commands,
        inbound=inbound,
        tick=tick,
        heartbeat=heartbeat,
    )


@dataclass
class App:
    """The running process: settings, database and the wired core. It is the `bot.ports.Host`
    each platform's `create` is given."""

    settings: Settings
    db: Database
    core: Core

    @property
    def inbound(self) -> Gateway:
        return self.core.inbound

    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def admins(self) -> frozenset[str]:
        return self.core.config.admins

    @property
    def slack_storage(self) -> SlackRecords:
        return self.core.store.slack

    @classmethod
    async def build(cls, settings: Settings, clock: Clock | None = None) -> App:
        bank = await asyncio.to_thread(load_bank, settings.pack_paths)
        grader = make_grader(settings)
        db = Database(settings.database_url)
        try:
            await db.open()
        except BaseException:
            await db.close()
            raise
        core = build_core(
            db=db,
            bank=bank,
            grader=grader,
            fallback=OfflineGrader() if grader.name == "llm" else None,
            coach=LLMCoach(grader) if isinstance(grader, TextCoach) else None,
            clock=clock or SystemClock(),
            config=CoreConfig(
                default_timezone=settings.timezone,
                catchup=timedelta(hours=settings.catchup_hours),
                admins=frozenset(settings.admins),
                practice_limit=settings.practice_limit,
                lease=timedelta(seconds=LEASE_TICKS * settings.tick_seconds),
                single_process=db.is_sqlite,
            ),
        )
        return cls(settings, db, core)

    async def check_database(self) -> None:
        """One round-trip to the database (what `/healthz` reports); raises when it fails."""
        await self.db.ping()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(
                asyncio.gather(self.core.grading.drain(), self.core.dailies.drain()),
                SHUTDOWN_GRACE,
            )
        except TimeoutError:
            _log.warning("stopped with work in flight; its leases lapse and others take it")
        try:
            await self.core.heartbeat.leave()
        except Exception:
            _log.exception("could not release this process's claims; their leases lapse")
        await self.db.close()
        closer = getattr(self.core.grading.grader, "aclose", None)
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
    app.core.platforms.attach(service.adapter)
    return service


async def run(settings: Settings, platforms: Sequence[Platform], speed: float = 1.0) -> None:
    """Run the platforms until each has finished (the console at end of input) or a signal."""
    clock: Clock = ScaledClock(speed) if speed != 1.0 else SystemClock()
    app = await App.build(settings, clock)
    services: list[Service] = []
    ticker = Ticker(
        app.core.tick,
        max(MIN_TICK_SECONDS, settings.tick_seconds / speed),
        heartbeat=app.core.heartbeat.beat,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for platform in platforms:
            services.append(await create_service(platform, app))
        for service in services:
            await service.start()
        time_driven = settings.scheduler and all(s.wants_scheduler for s in services)
        if time_driven or not app.db.is_sqlite:  # a shared database: leases to renew
            ticker.start(time_driven)
        await _until_done(dict(zip(platforms, services, strict=True)), stop)
    finally:
        await ticker.stop()
        for service in services:
            await service.stop()
        await app.close()


async def _until_done(services: dict[str, Service], stop: asyncio.Event) -> None:
    """Wait until every service has finished on its own (the console at end of input) or a
    signal asks to stop; a service that fails stops the run with `ServiceFailed`, so the
    process exits non-zero with the reason instead of going on without it (or exiting 0)."""
    waits: dict[asyncio.Future[Any], str] = {
        asyncio.ensure_future(service.wait()): name for name, service in services.items()
    }
    stopper = asyncio.ensure_future(stop.wait())
    pending: set[asyncio.Future[Any]] = set(waits)
    failure: tuple[str, BaseException] | None = None
    try:
        while pending and failure is None and not stopper.done():
            done, _ = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
            for future in done & pending:
                pending.discard(future)
                exc = None if future.cancelled() else future.exception()
                if exc is not None:
                    failure = (waits[future], exc)
    finally:
        for future in (*pending, stopper):
            future.cancel()
        await asyncio.gather(*pending, stopper, return_exceptions=True)
    if failure is not None:
        name, exc = failure
        raise ServiceFailed(f"the {name} service failed: {type(exc).__name__}: {exc}") from exc
