"""A daily fan-out over three processes: every channel exactly once, also when one dies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa

from bench.slack_common import FakeSlackProcess
from bot.store.db import Database
from bot.store.tables import claims, dailies
from testing.cluster import Cluster, seed

TEAMS = [f"TS{n}" for n in range(10)]
PER_TEAM = 100
TICK = 1.0
LEASE = 2 * TICK
BOUND = 120.0  # seconds any fan-out here may take at most (the minimum is 9 s)


async def posted(db: Database) -> int:
    async with db.read() as conn:
        return int(
            await conn.scalar(
                sa.select(sa.func.count()).where(dailies.c.status == "posted")
            )
            or 0
        )


async def until_posted(db: Database, count: int) -> None:
    deadline = time.monotonic() + BOUND
    while await posted(db) < count:
        assert time.monotonic() < deadline, f"only {await posted(db)} of {count} posted"
        await asyncio.sleep(0.2)


@asynccontextmanager
async def seeded_cluster(
    database_url: str, fake_slack: FakeSlackProcess, workdir: Path
) -> AsyncIterator[tuple[Cluster, Database]]:
    """Bot processes running over TEAMS x PER_TEAM channels with a daily due, and a database
    handle; both stopped afterwards."""
    await fake_slack.add_teams(TEAMS)
    cluster = Cluster(database_url, fake_slack.api_url, workdir, tick_seconds=TICK)
    await cluster.start()
    db = Database(database_url)
    try:
        await seed(database_url, TEAMS, PER_TEAM)
        yield cluster, db
    finally:
        await cluster.stop()
        await db.close()


def once_each(stats: dict[str, object]) -> list[int]:
    per_channel = stats["posts"]
    assert isinstance(per_channel, dict)
    return [per_channel.get(f"{t}/C{n:04d}", 0) for t in TEAMS for n in range(PER_TEAM)]


async def test_1000_channels_in_10_workspaces_get_exactly_one_post_each(
    database_url: str, fake_slack: FakeSlackProcess, workdir: Path
) -> None:
    async with seeded_cluster(database_url, fake_slack, workdir) as (_, db):
        await until_posted(db, len(TEAMS) * PER_TEAM)
        await asyncio.sleep(2 * LEASE)  # a few more ticks of every process: nothing more
        assert once_each(await fake_slack.stats()) == [1] * (len(TEAMS) * PER_TEAM)
        async with db.read() as conn:
            owners = set(
                (await conn.execute(sa.select(dailies.c.lease_owner).distinct())).scalars()
            )
        assert len(owners) > 1  # the fan-out was shared, not done by one process


async def test_a_process_killed_mid_fan_out_leaves_no_channel_twice_and_none_behind(
    database_url: str, fake_slack: FakeSlackProcess, workdir: Path
) -> None:
    async with seeded_cluster(database_url, fake_slack, workdir) as (cluster, db):
        await until_posted(db, 150)
        async with db.read() as conn:
            held = (
                await conn.execute(
                    sa.select(claims.c.name, claims.c.owner).where(
                        claims.c.name.like("post:%"), claims.c.owner.is_not(None)
                    )
                )
            ).all()
        assert held, "no workspace claim was held mid-fan-out"
        victim_owner = held[0].owner
        victim_workspaces = {r.name.removeprefix("post:") for r in held if r.owner == victim_owner}
        cluster.kill(cluster.member_of(victim_owner))
        killed_at = time.time()
        await until_posted(db, len(TEAMS) * PER_TEAM)
        async with db.read() as conn:
            takers = (
                await conn.execute(
                    sa.select(dailies.c.lease_owner, sa.func.min(dailies.c.posted_at)).where(
                        dailies.c.workspace_id.in_(victim_workspaces),
                        dailies.c.lease_owner != victim_owner,
                    ).group_by(dailies.c.lease_owner)
                )
            ).all()
        assert takers, "nobody took the killed process's workspaces over"
        first_takeover = min(t[1] for t in takers).timestamp()
        # the takeover began within two lease lengths of the kill (plus a tick to notice)
        assert first_takeover - killed_at <= 2 * LEASE + TICK
        await asyncio.sleep(2 * LEASE)
        assert once_each(await fake_slack.stats()) == [1] * (len(TEAMS) * PER_TEAM)
