"""F8 on PostgreSQL: every connection of a running `drillbot run` process is reset (the server
terminates its backends) while 32 answers are being stored. Transactions cut mid-way roll
back and their deliveries are not acknowledged; Slack's redeliveries (up to three, as Slack
does) store each answer once, and an invariant scan finds nothing half-written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.db import Database
from testing.invariants import half_written
from testing.process import BotProcess
from testing.slack.fake_slack import FakeSlack
from tests.conftest import POSTGRES_URL
from tests.faults.slackproc import open_daily, reply, rows, signed, slack_env

ANSWERS = 32
TEXT = "A B-tree keeps keys sorted, so it serves range scans; a hash index serves equality. {n}"


async def _reset_connections(database: str) -> int:
    """Terminate every backend connected to `database` (a connection reset, server side)."""
    assert POSTGRES_URL
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            killed = await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
            return len(killed.all())
    finally:
        await admin.dispose()


async def test_f8_connections_reset_mid_transaction_lose_and_half_write_nothing(
    database_url: str, store: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL fault")
    database = str(make_url(database_url).database)
    bot = await BotProcess(slack_env(database_url, fake_slack), tmp_path / "bot.log").start()
    try:
        async with aiohttp.ClientSession() as session:
            thread = (await open_daily(session, bot.url, fake_slack))["ts"]
            bodies = [reply(thread, n, TEXT.format(n=n)) for n in range(ANSWERS)]
            sends = [asyncio.ensure_future(signed(session, bot.url, b)) for b in bodies]
            await asyncio.sleep(0.05)  # some stored, some in flight
            reset = await _reset_connections(database)
            first = [status for status, _ in await asyncio.gather(*sends)]
            statuses = list(first)
            for attempt in range(3):  # Slack's redeliveries of what it saw unacknowledged
                for n, body in enumerate(bodies):
                    if statuses[n] != 200:
                        statuses[n] = (await signed(session, bot.url, body))[0]
                if all(s == 200 for s in statuses):
                    break
                await asyncio.sleep(0.5 * (attempt + 1))
        assert reset >= 1
        assert statuses == [200] * ANSWERS
        await store.engine.dispose()  # the reset took the test's own connections too
        stored = await rows(store)
        assert sorted(r.user_id for r in stored) == [f"U{n:02d}" for n in range(ANSWERS)]
        assert await half_written(store) == []
    finally:
        await bot.stop()
