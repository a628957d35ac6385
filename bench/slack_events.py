"""Slack event ingest: signed thread answers at 200/s for 30 s through HTTP mode, 10 % of them
redelivered (Slack's retries), against the real AsyncApp, its aiohttp server and the core.

Set-up: the Slack service in HTTP + OAuth mode (installations in the database, tokens
encrypted) on a loopback port, the fake Slack (Web API) in a process of its own, dailies
posted in every channel. Then each event is one user's first reply in one daily's thread,
signed with the signing secret; one event in ten is a redelivery of an earlier one (same
event id, `X-Slack-Retry-Num: 1`). Sends follow a fixed schedule (k/200 s), each on its own
task, so a slow ack does not slow the sender. Measured: ack latency (request sent to response
read) p50/p99/max, and, once the core has settled, stored answers against unique events
(equal means no retry made a second answer and no answer was lost).

Grading and feedback run as in production (offline grader, reactions and ephemerals through
the limiter); the limiter's per-minute tier budgets are widened here, because this benchmark
measures ingest, not Slack's reaction tiers (the feedback of 6,000 answers in 30 s would queue
for an hour at real tiers).
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.slack_common import FakeSlackProcess, percentile
from bot.app import App, build_core
from bot.clock import SystemClock
from bot.config import SHIPPED_PACKS, Settings
from bot.domain.types import ChannelRef
from bot.grading.offline import OfflineGrader
from bot.packs import Bank, load_bank
from bot.platforms.slack.installations import InstallationStore
from bot.platforms.slack.limits import TIER_PER_MINUTE, Limits
from bot.platforms.slack.service import build_service
from bot.store.db import Database
from bot.store.tables import answers, dailies
from testing.slack import payloads
from testing.slack.installs import TEST_SECRET_KEY, install

SECRET = "bench-signing-secret"
RATE = 200  # events per second
DUPLICATES = 0.10
GOAL_P99 = 0.300
SETTLE_SECONDS = 120.0
POLL = 0.2
WIDE = Limits(per_minute={m: 1_000_000 for m in TIER_PER_MINUTE}, default_per_minute=1_000_000)


def _event(team: str, channel: str, user: str, thread_ts: str, n: int) -> dict[str, Any]:
    """A thread reply: an answer to the daily in `thread_ts`."""
    ts = f"1900000000.{n:06d}"
    text = f"answer {n}: a hash index serves point lookups; a B-tree serves ranges."
    return payloads.thread_reply(team, channel, user, thread_ts, ts, text, f"Ev{n:07d}")


async def _stored(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(answers)) or 0)


async def _settle(db: Database, unique: int) -> float:
    """Seconds until every unique event is a stored answer (the core catching up)."""
    started = time.perf_counter()
    for _ in range(int(SETTLE_SECONDS / POLL)):
        if await _stored(db) >= unique:
            break
        await asyncio.sleep(POLL)
    return time.perf_counter() - started


async def _send(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], retry: bool
) -> float:
    raw, content_type = payloads.json_body(body)
    headers = payloads.signed_headers(raw, content_type, SECRET)
    if retry:
        headers.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    started = time.perf_counter()
    async with session.post(url, data=raw.encode(), headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"event refused: {response.status}")
    return time.perf_counter() - started


async def _run(workdir: Path, seconds: float, bank: Bank) -> dict[str, Any]:
    total = int(RATE * seconds)
    unique = total - int(total * DUPLICATES)
    workspaces, users = 5, 60
    dailies_per_workspace = -(-unique // (workspaces * users))  # enough (user, daily) pairs
    db = Database(f"sqlite+aiosqlite:///{workdir / 'events.db'}")
    await db.migrate()
    core = build_core(db=db, bank=bank, grader=OfflineGrader(), clock=SystemClock())
    async with FakeSlackProcess() as fake:
        teams = [f"TE{n}" for n in range(workspaces)]
        await fake.add_teams(teams, [f"U{n:03d}" for n in range(users)])
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            slack_mode="http",
            slack_signing_secret=SECRET,
            slack_client_id="111.222",
            slack_client_secret="client-secret",
            secret_key=TEST_SECRET_KEY,
            slack_api_url=fake.api_url,
            http_host="127.0.0.1",
            http_port=0,
        )
        app = App(settings, db, core)
        service = await build_service(app, WIDE)
        core.platforms.attach(service.adapter)
        store = service.api.installations
        assert isinstance(store, InstallationStore)
        for team in teams:
            await install(store, core, team)
        await service.start()
        try:
            for team in teams:
                for d in range(dailies_per_workspace):
                    ref = ChannelRef(team, f"C{d:03d}")
                    await core.tenants.ensure_channel(ref, cron=None)
                    await core.dailies.post_now(ref)
            async with db.read() as conn:
                rows = await conn.execute(
                    sa.select(dailies.c.workspace_id, dailies.c.channel_id, dailies.c.message_id)
                )
                threads = [(r.workspace_id, r.channel_id, r.message_id) for r in rows]
            pairs = [(t, c, ts, f"U{u:03d}") for (t, c, ts) in threads for u in range(users)]
            rng = random.Random(7)
            rng.shuffle(pairs)
            bodies = [_event(t, c, u, ts, n) for n, (t, c, ts, u) in enumerate(pairs[:unique])]
            plan: list[tuple[dict[str, Any], bool]] = [(b, False) for b in bodies]
            for _ in range(total - unique):  # a redelivery comes after its original
                at = rng.randrange(len(plan))
                original = next(b for b, retry in plan[: at + 1][::-1] if not retry)
                plan.insert(at + 1, (original, True))
            url = f"http://127.0.0.1:{service.port}/slack/events"
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                started = time.perf_counter()
                tasks = []
                for k, (body, retry) in enumerate(plan):
                    delay = started + k / RATE - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.ensure_future(_send(session, url, body, retry)))
                latencies = await asyncio.gather(*tasks)
                sending = time.perf_counter() - started
            settled = await _settle(db, unique)
            await service.events.inflight.wait(SETTLE_SECONDS)
            stored = await _stored(db)
        finally:
            await service.stop()
            await db.close()
    p99 = percentile(latencies, 99)
    return {
        "events": total,
        "unique": unique,
        "redeliveries": total - unique,
        "rate_per_second": total / sending,
        "ack_p50_ms": percentile(latencies, 50) * 1000,
        "ack_p99_ms": p99 * 1000,
        "ack_max_ms": max(latencies) * 1000,
        "stored_answers": stored,
        "settle_seconds_after_last_event": settled,
        "goal": f"p99 < {GOAL_P99 * 1000:.0f} ms, stored answers = unique events",
        "ok": p99 < GOAL_P99 and stored == unique,
    }


async def run(quick: bool) -> dict[str, Any]:
    """30 s of events (quick: 5 s)."""
    bank = load_bank([SHIPPED_PACKS])
    open_only = Bank({q.id: q for q in bank.open_questions()}, bank.topics)
    with tempfile.TemporaryDirectory(prefix="drillbot-slack-events-") as tmp:
        result = await _run(Path(tmp), 5.0 if quick else 30.0, open_only)
    return {"bench": "slack_events", "quick": quick, **result}


if __name__ == "__main__":
    import sys

    print(json.dumps(asyncio.run(run("--quick" in sys.argv)), indent=2))
