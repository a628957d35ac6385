"""F1: kill -9 during a 1,000-channel fan-out, then restart.

1,000 channels of one Slack workspace share a slot a minute ago. A real `drillbot run` process
starts posting them (the fake Web API lets 100 messages a second through, so the fan-out
takes about 10 s) and is killed with SIGKILL once 300 channels have their daily. After a
restart on the same database, every channel gets its daily and none gets two: the posts the
dead process reserved are looked for on Slack before they are sent (SQLite: one process per
database, so a reservation older than the process is taken up at once; on PostgreSQL it
waits for its 2-minute lease, which this suite does not sit through).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.app import build_core
from bot.clock import SystemClock
from bot.config import SHIPPED_PACKS
from bot.domain.types import ChannelRef
from bot.grading.offline import OfflineGrader
from bot.packs import load_bank
from bot.store.db import Database
from bot.store.tables import dailies
from testing.invariants import half_written
from testing.polling import eventually
from testing.process import BotProcess
from testing.slack.fake_slack import FakeSlack
from tests.faults.slackproc import PACKS, slack_env

CHANNELS = 1000
KILL_AT = 300


def _posted(fake: FakeSlack) -> dict[str, int]:
    """Top-level posts (dailies) per channel."""
    counts: dict[str, int] = {}
    for (team, channel), messages in list(fake.messages.items()):
        tops = [m for m in messages if team == "T1" and not m.get("thread_ts")]
        if tops:
            counts[channel] = len(tops)
    return counts


async def test_f1_kill_during_a_1000_channel_fan_out_then_restart(
    database_url: str, store: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("on PostgreSQL a dead process's reservations wait out their lease")
    now = datetime.now(UTC)
    slot = now - timedelta(minutes=1)
    core = build_core(
        db=store,
        bank=await asyncio.to_thread(load_bank, [SHIPPED_PACKS, PACKS]),
        grader=OfflineGrader(),
        clock=SystemClock(),
    )
    await core.tenants.ensure_workspace("T1", "slack", "team T1")
    for n in range(CHANNELS):
        await core.tenants.ensure_channel(
            ChannelRef("T1", f"C{n:04d}"), cron=f"{slot.minute} {slot.hour} * * *", timezone="UTC"
        )
    async with store.write() as conn:
        since = {"t": now - timedelta(hours=1)}
        await conn.execute(sa.text("UPDATE channels SET schedule_since = :t"), since)
    env = slack_env(database_url, fake_slack, SLACK_MESSAGES_PER_SECOND="100")
    bot = await BotProcess(env, tmp_path / "bot.log").start()
    try:
        await eventually(lambda: len(_posted(fake_slack)) >= KILL_AT, within=60)
        await bot.kill()
        at_kill = len(_posted(fake_slack))
        assert at_kill < CHANNELS, "the fan-out finished before the kill"
        bot = await BotProcess(env, tmp_path / "bot.log").start()
        await eventually(lambda: len(_posted(fake_slack)) == CHANNELS, within=90)

        async def all_confirmed() -> bool:
            async with store.read() as conn:
                rows = list(await conn.execute(sa.select(dailies.c.status, dailies.c.message_id)))
            return len(rows) == CHANNELS and all(r.message_id for r in rows)

        await eventually(all_confirmed, within=30)
        await asyncio.sleep(2)  # two more ticks: nothing more is posted
    finally:
        await bot.stop()
    posted = _posted(fake_slack)
    assert len(posted) == CHANNELS and max(posted.values()) == 1, "a channel was posted twice"
    assert await half_written(store) == []
    print(f"F1: {at_kill} of {CHANNELS} channels posted at the kill; all {CHANNELS} once after")
