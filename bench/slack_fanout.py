"""Slack daily fan-out: 1,000 channels over 50 workspaces against the fake Slack's limits.

The fake Web API (testing/slack/fake_slack.py, in a process of its own) enforces one
`chat.postMessage` per second per channel and 10 per trailing second per workspace, answering
429 + Retry-After past them. The real adapter (limiter, clients, post attempts, Block Kit)
posts every channel's daily, on a fresh SQLite database. Three runs:

- `scheduled`: one slot due in every channel, posted by the core's tick (`post_due`);
- `concurrent`: `post_now` in every channel at once (what a fan-out can reach when the core
  hands the adapter all posts together);
- `adapter`: the adapter alone, `post_daily` for every channel at once (no core), which
  separates what Slack's limits and our limiter cost from what the core's database costs.

Minimum (docs/design.md "Benchmarks"): per workspace, what 1 message/s per channel and 10/s per
workspace allow, i.e. a first batch of 10 at once and each further batch of 10 one second
later, so `ceil(posts / 10) - 1` seconds after the first; workspaces run in parallel, so the
fan-out minimum is the largest of them (1 s for 20 channels a workspace). Reported: elapsed
time over that minimum (goal <= 1.2), posts dropped (channels without their daily) and
duplicated (more than one), and the 429s the fake had to send.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.slack_common import FakeSlackProcess, Installed
from bot.app import build_core
from bot.clock import ManualClock
from bot.config import SHIPPED_PACKS
from bot.domain.types import ChannelRef, DailyPost
from bot.grading.offline import OfflineGrader
from bot.packs import load_bank
from bot.platforms.slack.api import SlackApi
from bot.platforms.slack.installations import PostAttempts
from bot.platforms.slack.limits import Limits, RateLimiter
from bot.platforms.slack.outbound import SlackAdapter
from bot.store.db import Database

SLOT = datetime(2026, 7, 7, 9, 0, tzinfo=UTC)  # a Tuesday
WORKSPACE_RATE = 10  # the fake's (and the limiter's) messages per second per workspace
GOAL = 1.2
MODES = ("scheduled", "concurrent", "adapter")


def minimum_seconds(per_workspace: dict[str, int]) -> float:
    return max(math.ceil(n / WORKSPACE_RATE) - 1 for n in per_workspace.values())


async def _fanout(workdir: Path, workspaces: int, channels: int, mode: str) -> dict[str, Any]:
    clock = ManualClock(SLOT - timedelta(minutes=1))
    db = Database(f"sqlite+aiosqlite:///{workdir / f'{mode}.db'}")
    await db.migrate()
    async with FakeSlackProcess() as fake, aiohttp.ClientSession() as session:
        teams = [f"TB{n:03d}" for n in range(workspaces)]
        api = SlackApi(
            base_url=fake.api_url,
            limiter=RateLimiter(Limits()),
            session=session,
            installations=Installed(await fake.add_teams(teams)),
        )
        core = build_core(db=db, bank=load_bank([SHIPPED_PACKS]), grader=OfflineGrader(),
                          clock=clock)
        adapter = SlackAdapter(api=api, attempts=PostAttempts(core.store.slack, clock), admins=[])
        core.platforms.attach(adapter)
        refs = [ChannelRef(teams[i % workspaces], f"C{i:05d}") for i in range(channels)]
        for team in teams:
            await core.tenants.ensure_workspace(team, "slack", team, "UTC")
        for ref in refs:
            await core.tenants.ensure_channel(ref, cron="0 9 * * *", timezone="UTC")
        clock.set(SLOT + timedelta(seconds=30))
        started = time.perf_counter()
        if mode == "scheduled":
            await core.dailies.post_due()
        elif mode == "concurrent":
            await asyncio.gather(*(core.dailies.post_now(ref) for ref in refs))
        else:
            question = next(iter(core.bank))
            closes = SLOT + timedelta(hours=24)
            posts = [
                DailyPost(n, ref, question, closes, False, "Reply in the thread.")
                for n, ref in enumerate(refs, 1)
            ]
            await asyncio.gather(*(adapter.post_daily(post) for post in posts))
        elapsed = time.perf_counter() - started
        stats = await fake.stats()
    await db.close()
    posted = [stats["posts"].get(f"{r.workspace_id}/{r.channel_id}", 0) for r in refs]
    floor = minimum_seconds(Counter(ref.workspace_id for ref in refs))
    return {
        "mode": mode,
        "channels": channels,
        "workspaces": workspaces,
        "seconds": elapsed,
        "minimum_seconds": floor,
        "ratio": elapsed / floor if floor else None,
        "dropped": sum(1 for n in posted if n == 0),
        "duplicated": sum(n - 1 for n in posted if n > 1),
        "rate_limited_429": stats["rejected"],
        "web_api_calls": sum(stats["calls"].values()),
    }


async def run(quick: bool) -> dict[str, Any]:
    """Both fan-outs; quick: 200 channels over 10 workspaces (same 20 per workspace)."""
    workspaces, channels = (10, 200) if quick else (50, 1_000)
    with tempfile.TemporaryDirectory(prefix="drillbot-slack-fanout-") as tmp:
        results = [await _fanout(Path(tmp), workspaces, channels, mode) for mode in MODES]
    for result in results:
        ratio = result["ratio"]
        result["goal"] = f"ratio <= {GOAL}, 0 dropped, 0 duplicated"
        result["ok"] = bool(
            ratio is not None
            and ratio <= GOAL
            and not result["dropped"]
            and not result["duplicated"]
        )
    return {"bench": "slack_fanout", "quick": quick, "runs": results}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(asyncio.run(run("--quick" in sys.argv)), indent=2))
