"""Shared fixtures: a database on SQLite (always) and PostgreSQL (when
DRILLBOT_TEST_POSTGRES_URL is set), a manual clock, and an core wired to a recording adapter.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.config import SHIPPED_PACKS
from bot.grading.offline import OfflineGrader
from bot.packs import Bank, load_bank
from bot.services.commands import Commands
from bot.services.config import CoreConfig
from bot.store.db import Database
from testing.fakes import RecordingAdapter

POSTGRES_URL = os.environ.get("DRILLBOT_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="DRILLBOT_TEST_POSTGRES_URL is not set: PostgreSQL run skipped"
        ),
    ),
]


@pytest.fixture(scope="session")
def bank() -> Bank:
    return load_bank([SHIPPED_PACKS])


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database; on PostgreSQL a schema of its own, dropped afterwards."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'drillbot.db'}")
        await database.migrate()
        yield database
        await database.close()
        return
    assert POSTGRES_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    await database.migrate()
    yield database
    await database.close()
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture
def clock() -> ManualClock:
    # A Monday, 08:00 UTC.
    return ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


@pytest.fixture
async def core(
    db: Database, bank: Bank, clock: ManualClock, adapter: RecordingAdapter
) -> AsyncIterator[Core]:
    """An core over the shipped open questions (MCQ dailies have tests of their own)."""
    open_bank = Bank({q.id: q for q in bank.open_questions()}, bank.topics)
    eng = build_core(
        db=db,
        bank=open_bank,
        grader=OfflineGrader(),
        clock=clock,
        config=CoreConfig(admins=frozenset({"boss"})),
    )
    eng.platforms.attach(adapter)
    yield eng
    await eng.grading.drain()
    await eng.dailies.drain()


@pytest.fixture
def commands(core: Core) -> Commands:
    return core.commands


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every regression test of an audit finding (`test_finding…`, issue 12) belongs to the
    audit too: `make audit` runs them with the bad-input suite (modules marked `audit`)."""
    for item in items:
        if item.name.startswith("test_finding"):
            item.add_marker(pytest.mark.audit)
