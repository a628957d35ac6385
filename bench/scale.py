"""Scale-out on PostgreSQL: real `drillbot` processes sharing one database (testing/cluster.py).

Figures, all from the same run:

- **grading throughput**: answers ingested and graded per second with 3 processes vs 1, each
  at its default grading concurrency, the loopback LLM fake answering every request in 200 ms
  with no cap of its own (goal: 3 processes >= 2.4x one). Answers are signed Slack thread
  replies delivered round-robin, 10 % of them redelivered (half of those to another process
  than the first delivery); timed from the first delivery to the last grade row written.
  Checked: stored answers = unique, one grade row each.
- the same with the **offline grader** (no LLM wait: the nearest the bot has to a null
  grader), which shows the database's and the processes' own share;
- **fan-out**: 1,000 channels over 10 workspaces due at once, 3 processes, against the fake
  Slack's limits (1 message/s per channel, 10/s per workspace): from the moment they fall due
  (the channels' creation commits) to the last confirmed post, over the rate-limit minimum
  (`ceil(100 / 10) - 1` = 9 s per workspace, workspaces in parallel; goal <= 1.2x), with posts
  dropped and duplicated.

Needs PostgreSQL: `DRILLBOT_BENCH_POSTGRES_URL` or `DRILLBOT_TEST_POSTGRES_URL`; without one
the section reports that it was skipped.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.common import Figure, Section
from bench.slack_common import FakeSlackProcess
from bot.config import SHIPPED_PACKS
from bot.packs import load_bank
from bot.store.db import Database
from bot.store.tables import answers, dailies, grades
from testing.cluster import Cluster, scratch_database, seed, send_event
from testing.fake_openai import FakeModel, FakeOpenAIServer
from testing.slack import payloads

TICK = 1.0
LLM_SECONDS = 0.2
REDELIVERED = 0.10
SENDERS = 64
BOUND = 900.0
GOAL_SPEEDUP = 2.4
GOAL_FANOUT = 1.2
WORKSPACE_RATE = 10
TEXT = "A hash index serves point lookups in constant time; a B-tree serves range scans in order."


def _server_url() -> str | None:
    return os.environ.get("DRILLBOT_BENCH_POSTGRES_URL") or os.environ.get(
        "DRILLBOT_TEST_POSTGRES_URL"
    )


async def _count(db: Database, query: sa.Select[Any]) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(query) or 0)


async def _until(db: Database, query: sa.Select[Any], wanted: int) -> None:
    deadline = time.monotonic() + BOUND
    while await _count(db, query) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{await _count(db, query)} of {wanted} after {BOUND} s")
        await asyncio.sleep(0.1)


def _plan(bodies: list[dict[str, Any]], size: int) -> list[tuple[int, dict[str, Any], int]]:
    """Round-robin deliveries; 10 % redelivered later, half of those to another process."""
    rng = random.Random(11)
    plan = [(k % size, body, 0) for k, body in enumerate(bodies)]
    for k in rng.sample(range(len(bodies)), int(len(bodies) * REDELIVERED)):
        target = (k + (1 if rng.random() < 0.5 else 0)) % size
        plan.insert(rng.randrange(k + 1, len(plan) + 1), (target, bodies[k], 1))
    return plan


async def _grading(server: str, size: int, answers_wanted: int, llm: bool) -> dict[str, Any]:
    """One throughput run: `size` processes, about `answers_wanted` unique answers."""
    teams = [f"TT{n}" for n in range(10)]
    per_team = 10
    open_ids = {q.id for q in load_bank([SHIPPED_PACKS]).open_questions()}
    model = FakeModel(mode="slow", slow_seconds=LLM_SECONDS)
    fake_llm = FakeOpenAIServer(model)
    base_url = await fake_llm.start()
    env = {"DRILLBOT_GRADER": "llm", "OPENAI_BASE_URL": base_url} if llm else {}
    with tempfile.TemporaryDirectory(prefix="drillbot-scale-") as tmp:
        async with scratch_database(server) as url, FakeSlackProcess() as fake:
            db = Database(url)
            cluster = Cluster(url, fake.api_url, Path(tmp), size=size, tick_seconds=TICK, env=env)
            try:
                await fake.add_teams(teams)
                await cluster.start()
                await seed(url, teams, per_team)
                await _until(db, sa.select(sa.func.count()).where(dailies.c.status == "posted"),
                             len(teams) * per_team)
                async with db.read() as conn:
                    rows = (await conn.execute(sa.select(
                        dailies.c.workspace_id, dailies.c.channel_id, dailies.c.message_id,
                        dailies.c.question_id))).all()
                threads = [(r[0], r[1], r[2]) for r in rows if r[3] in open_ids]
                users = math.ceil(answers_wanted / len(threads))
                bodies = [
                    payloads.thread_reply(team, channel, f"U{u:04d}", thread,
                                          f"1900000000.{n:06d}", f"{TEXT} ({n})", f"EvB{n:07d}")
                    for n, ((team, channel, thread), u) in enumerate(
                        (t, u) for u in range(users) for t in threads)
                ][:answers_wanted]
                plan = _plan(bodies, size)
                gate = asyncio.Semaphore(SENDERS)
                started = time.perf_counter()
                async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0)
                ) as session:

                    async def deliver(target: int, body: dict[str, Any], retry: int) -> int:
                        async with gate:
                            url = cluster.members[target].events_url
                            return await send_event(session, url, body, retry)

                    statuses = await asyncio.gather(*(deliver(*p) for p in plan))
                sent = time.perf_counter() - started
                await _until(db, sa.select(sa.func.count()).select_from(grades), len(bodies))
                elapsed = time.perf_counter() - started
                stored = await _count(db, sa.select(sa.func.count()).select_from(answers))
                graded = await _count(db, sa.select(sa.func.count()).select_from(grades))
            finally:
                await cluster.stop()
                await db.close()
                await fake_llm.stop()
    return {
        "processes": size,
        "grader": f"llm fake ({LLM_SECONDS * 1000:.0f} ms)" if llm else "offline",
        "unique": len(bodies),
        "deliveries": len(plan),
        "refused": sum(1 for s in statuses if s != 200),
        "stored": stored,
        "grade_rows": graded,
        "llm_requests": len(model.requests),
        "send_seconds": sent,
        "seconds": elapsed,
        "per_second": len(bodies) / elapsed,
    }


async def _fanout(server: str) -> dict[str, Any]:
    teams = [f"TF{n}" for n in range(10)]
    per_team = 100
    with tempfile.TemporaryDirectory(prefix="drillbot-scale-") as tmp:
        async with scratch_database(server) as url, FakeSlackProcess() as fake:
            db = Database(url)
            cluster = Cluster(url, fake.api_url, Path(tmp), size=3, tick_seconds=TICK)
            try:
                await fake.add_teams(teams)
                await cluster.start()
                due = await seed(url, teams, per_team)
                total = len(teams) * per_team
                await _until(db, sa.select(sa.func.count()).where(dailies.c.status == "posted"),
                             total)
                async with db.read() as conn:
                    last = await conn.scalar(sa.select(sa.func.max(dailies.c.posted_at)))
                    owners = await conn.scalar(
                        sa.select(sa.func.count(sa.distinct(dailies.c.lease_owner))))
                await asyncio.sleep(2 * TICK)
                stats = await fake.stats()
            finally:
                await cluster.stop()
                await db.close()
    posts = [stats["posts"].get(f"{t}/C{n:04d}", 0) for t in teams for n in range(per_team)]
    minimum = math.ceil(per_team / WORKSPACE_RATE) - 1
    seconds = last.timestamp() - due
    return {
        "channels": total, "workspaces": len(teams), "processes": 3, "posting_processes": owners,
        "seconds": seconds, "minimum_seconds": minimum, "ratio": seconds / minimum,
        "dropped": sum(1 for p in posts if p == 0),
        "duplicated": sum(p - 1 for p in posts if p > 1),
        "rate_limited_429": stats["rejected"],
    }


async def _run(server: str, quick: bool) -> dict[str, Any]:
    llm_answers, offline_answers = (300, 500) if quick else (1_500, 5_000)
    results: dict[str, Any] = {"quick": quick}
    for name, size, count, llm in (
        ("llm_1", 1, llm_answers, True), ("llm_3", 3, llm_answers, True),
        ("offline_1", 1, offline_answers, False), ("offline_3", 3, offline_answers, False),
    ):
        print(f"  scale: {name} ({count} answers)", flush=True)
        results[name] = await _grading(server, size, count, llm)
    print("  scale: fan-out", flush=True)
    results["fanout"] = await _fanout(server)
    return results


def _rows(r: dict[str, Any]) -> list[Figure]:
    figures: list[Figure] = []
    for kind, goal in (("llm", GOAL_SPEEDUP), ("offline", None)):
        one, three = r[f"{kind}_1"], r[f"{kind}_3"]
        speedup = three["per_second"] / one["per_second"]
        exact = all(x["stored"] == x["unique"] == x["grade_rows"] for x in (one, three))
        figures.append(Figure(
            bench="scale", metric=f"answers/s, 3 processes ({three['grader']})",
            value=three["per_second"], unit="/s", baseline=one["per_second"],
            baseline_label="1 process", ratio=speedup,
            goal=f">= {goal}x, stored = unique = graded" if goal else "",
            ok=(speedup >= goal and exact) if goal else None,
            note=f"{three['unique']} unique answers, {three['deliveries']} deliveries; stored "
            f"{three['stored']}, graded {three['grade_rows']}; 1 process: stored "
            f"{one['stored']}, graded {one['grade_rows']}",
        ))
    f = r["fanout"]
    figures.append(Figure(
        bench="scale", metric="fan-out 1000 ch / 10 ws, 3 processes", value=f["seconds"],
        unit="s", baseline=f["minimum_seconds"], baseline_label="rate-limit minimum",
        ratio=f["ratio"], goal=f"<= {GOAL_FANOUT}x, 0 dropped, 0 dup",
        ok=f["ratio"] <= GOAL_FANOUT and not f["dropped"] and not f["duplicated"],
        note=f"{f['dropped']} dropped, {f['duplicated']} duplicated, {f['rate_limited_429']} "
        f"429s; {f['posting_processes']} processes posted",
    ))
    return figures


def run(quick: bool) -> Section:
    server = _server_url()
    if server is None:
        skipped = Figure(bench="scale", metric="scale-out (skipped)", value=math.nan, unit="",
                         note="set DRILLBOT_BENCH_POSTGRES_URL (or DRILLBOT_TEST_POSTGRES_URL)")
        return Section("scale", [skipped], {"skipped": "no PostgreSQL URL"})
    result = asyncio.run(_run(server, quick))
    return Section("scale", _rows(result), result)


if __name__ == "__main__":
    import json
    import sys

    url = _server_url()
    if url is None:
        sys.exit("set DRILLBOT_BENCH_POSTGRES_URL or DRILLBOT_TEST_POSTGRES_URL")
    print(json.dumps(asyncio.run(_run(url, "--quick" in sys.argv)), indent=2, default=str))
