"""The fault suite (docs/operations: `make audit`): real processes, real SQLite or
PostgreSQL, fakes on 127.0.0.1. Every test here carries the `audit` marker.

`database_url`: a fresh database per test for a `drillbot run` process: an SQLite file, and
(when DRILLBOT_TEST_POSTGRES_URL is set) a PostgreSQL database of its own, dropped after.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.db import Database
from testing.slack.fake_slack import FakeSlack
from tests.conftest import BACKENDS, POSTGRES_URL

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.audit)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'drillbot.db'}"
        return
    assert POSTGRES_URL
    name = f"fault_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Database]:
    """The test's own connection to the process's database (migrated, as the process does
    at start; migrations are idempotent)."""
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Slack's Web API at real pace for one workspace T1 (admin UADMIN, users U00..U99)."""
    server = await FakeSlack(channel_interval=0.05, workspace_per_second=1000).start()
    server.add_team("T1")
    server.add_user("T1", "UADMIN", "Ada", admin=True)
    for n in range(100):
        server.add_user("T1", f"U{n:02d}", f"User {n}")
    yield server
    await server.stop()
