"""Finding 2a: an acknowledged answer is never lost.

Slack in HTTP mode, signed requests into a real `drillbot run` process: 24 thread replies and
8 form submissions arrive at once, and the process is killed with SIGKILL the moment the 16th
acknowledgement is in (grading is held up at the model, so none is graded yet). Every
acknowledged answer is committed; after a restart on the same database each is there once and
graded. (Before the fix, bolt acknowledged events before the listener stored them.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from bot.store.db import Database
from testing.fake_openai import FakeModel, FakeOpenAIServer
from testing.polling import eventually
from testing.process import BotProcess
from testing.slack import payloads as p
from testing.slack.fake_slack import FakeSlack
from tests.faults.slackproc import daily_id, form, open_daily, reply, rows, signed, slack_env

THREAD_REPLIES = 24
FORMS = 8
#: The process is killed when this many deliveries are acknowledged (the rest are cut off).
KILL_AFTER = 16
ANSWER = (
    "It depends on the workload: I would measure first, then pick the structure whose "
    "trade-offs fit, and say why the alternative loses here. {n}"
)


async def test_every_acknowledged_answer_is_stored_and_graded_after_kill_9(
    database_url: str, store: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    model = FakeModel(mode="slow", slow_seconds=600)  # first life: no grade comes back
    llm = FakeOpenAIServer(model)
    env = slack_env(database_url, fake_slack, OPENAI_BASE_URL=await llm.start())
    bot = await BotProcess(env, tmp_path / "bot.log").start()
    try:
        async with aiohttp.ClientSession() as session:
            daily = await open_daily(session, bot.url, fake_slack)
            thread = daily["ts"]
            the_daily = daily_id(daily)
            sends = [
                reply(thread, n, ANSWER.format(n=n)) for n in range(THREAD_REPLIES)
            ] + [
                p.interaction_body(
                    p.view_submission(
                        "T1", f"U{n:02d}", form(the_daily, thread), ANSWER.format(n=n), f"V{n}"
                    )
                )
                for n in range(THREAD_REPLIES, THREAD_REPLIES + FORMS)
            ]
            users = [f"U{n:02d}" for n in range(len(sends))]
            acked: list[str] = []
            seconds: list[float] = []

            async def deliver(user: str, encoded: tuple[str, str]) -> None:
                status, took = await signed(session, bot.url, encoded)
                if status == 200:
                    acked.append(user)
                    seconds.append(took)
                    if len(acked) == KILL_AFTER:
                        await bot.kill()  # the moment the KILL_AFTER-th ack is in

            await asyncio.gather(*(deliver(u, s) for u, s in zip(users, sends, strict=True)))
        await bot.kill()
        assert len(acked) >= KILL_AFTER and max(seconds) < 3.0
        stored = await rows(store)
        missing = set(acked) - {row.user_id for row in stored}
        assert not missing, f"acknowledged but not committed: {sorted(missing)}"
        assert all(row.status == "pending" for row in stored), "graded before the kill"

        model.mode = "normal"  # second life: the model answers
        bot = await BotProcess(env, tmp_path / "bot.log").start()

        async def all_graded() -> list[sa.Row] | None:
            found = await rows(store)
            return found if all(r.status == "graded" for r in found) else None

        graded = await eventually(all_graded, within=60)
        assert {r.user_id for r in graded} >= set(acked)
        assert len(graded) == len({r.user_id for r in graded})
    finally:
        await bot.stop()
        await llm.stop()
