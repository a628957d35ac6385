"""Finding 2a: an acknowledged answer is never lost.

Slack in HTTP mode, signed requests into a real `drillbot run` process: 24 thread replies and
8 form submissions arrive at once, and the process is killed with SIGKILL the moment the 16th
acknowledgement is in (grading is held up at the model, so none is graded yet). Every
acknowledged answer is committed; after a restart on the same database each is there once and
graded. (Before the fix, bolt acknowledged events before the listener stored them.)
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bot.platforms.slack import blocks
from bot.store.db import Database
from bot.store.tables import answers
from testing.fake_openai import FakeModel, FakeOpenAIServer
from testing.polling import eventually
from testing.process import BotProcess
from testing.slack import payloads as p
from testing.slack.fake_slack import FakeSlack

PACKS = Path(__file__).parents[2] / "testing" / "packs"
THREAD_REPLIES = 24
FORMS = 8
#: The process is killed when this many deliveries are acknowledged (the rest are cut off).
KILL_AFTER = 16
ANSWER = (
    "It depends on the workload: I would measure first, then pick the structure whose "
    "trade-offs fit, and say why the alternative loses here. {n}"
)


async def _signed(
    session: aiohttp.ClientSession, url: str, encoded: tuple[str, str]
) -> tuple[int, float]:
    """The HTTP status (0 when the process died first) and the seconds it took."""
    body, content_type = encoded
    started = time.perf_counter()
    try:
        async with session.post(
            f"{url}/slack/events", data=body.encode(), headers=p.signed_headers(body, content_type)
        ) as response:
            await response.read()
            return response.status, time.perf_counter() - started
    except aiohttp.ClientError:
        return 0, time.perf_counter() - started


async def _command(
    session: aiohttp.ClientSession, url: str, fake: FakeSlack, text: str
) -> None:
    trigger = f"trig-{text}"
    fields = p.command("T1", "C1", "UADMIN", text, fake.response_url(trigger), trigger)
    assert (await _signed(session, url, p.form_body(fields)))[0] == 200


def _daily_id(message: dict[str, Any]) -> int:
    for block in message.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == blocks.ANSWER_ACTION:
                return int(element["value"])
    raise AssertionError("the daily has no Answer privately button")


def _form(daily_id: int, thread_ts: str) -> dict[str, Any]:
    """The Answer privately modal as drillbot opens it (what a submission sends back)."""
    return {
        "callback_id": blocks.ANSWER_MODAL,
        "private_metadata": blocks.ModalContext(daily_id, "C1", thread_ts).dump(),
        "blocks": [
            {
                "type": "input",
                "block_id": blocks.ANSWER_BLOCK,
                "element": {"type": "plain_text_input", "action_id": blocks.ANSWER_INPUT},
            }
        ],
    }


async def _rows(store: Database) -> list[sa.Row]:
    async with store.read() as conn:
        return list(await conn.execute(sa.select(answers).where(answers.c.workspace_id == "T1")))


async def test_every_acknowledged_answer_is_stored_and_graded_after_kill_9(
    database_url: str, store: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    model = FakeModel(mode="slow", slow_seconds=600)  # first life: no grade comes back
    llm = FakeOpenAIServer(model)
    env = {
        "DRILLBOT_DATABASE_URL": database_url,
        "SLACK_MODE": "http",
        "SLACK_SIGNING_SECRET": p.SECRET,
        "SLACK_BOT_TOKEN": "xoxb-T1",
        "SLACK_API_URL": fake_slack.api_url,
        "OPENAI_BASE_URL": await llm.start(),
        "DRILLBOT_TICK_SECONDS": "1",
        "DRILLBOT_PACKS": str(PACKS),
    }
    bot = await BotProcess(env, tmp_path / "bot.log").start()
    try:
        async with aiohttp.ClientSession() as session:
            await _command(session, bot.url, fake_slack, "config topics=faults")
            await eventually(lambda: fake_slack.responses, within=20)
            await _command(session, bot.url, fake_slack, "post-now")
            [daily] = await eventually(lambda: fake_slack.posts("T1", "C1"), within=20)
            thread = daily["ts"]
            daily_id = _daily_id(daily)
            sends = [
                p.json_body(
                    p.thread_reply(
                        "T1", "C1", f"U{n:02d}", thread, f"{thread[:-6]}{n + 1:06d}",
                        ANSWER.format(n=n), f"Ev{n:04d}",
                    )
                )
                for n in range(THREAD_REPLIES)
            ] + [
                p.interaction_body(
                    p.view_submission(
                        "T1", f"U{n:02d}", _form(daily_id, thread), ANSWER.format(n=n), f"V{n}"
                    )
                )
                for n in range(THREAD_REPLIES, THREAD_REPLIES + FORMS)
            ]
            users = [f"U{n:02d}" for n in range(len(sends))]
            acked: list[str] = []
            seconds: list[float] = []

            async def deliver(user: str, encoded: tuple[str, str]) -> None:
                status, took = await _signed(session, bot.url, encoded)
                if status == 200:
                    acked.append(user)
                    seconds.append(took)
                    if len(acked) == KILL_AFTER:
                        await bot.kill()  # the moment the KILL_AFTER-th ack is in

            await asyncio.gather(*(deliver(u, s) for u, s in zip(users, sends, strict=True)))
        await bot.kill()
        assert len(acked) >= KILL_AFTER and max(seconds) < 3.0
        stored = await _rows(store)
        missing = set(acked) - {row.user_id for row in stored}
        assert not missing, f"acknowledged but not committed: {sorted(missing)}"
        assert all(row.status == "pending" for row in stored), "graded before the kill"

        model.mode = "normal"  # second life: the model answers
        bot = await BotProcess(env, tmp_path / "bot.log").start()

        async def all_graded() -> list[sa.Row] | None:
            rows = await _rows(store)
            return rows if all(r.status == "graded" for r in rows) else None

        rows = await eventually(all_graded, within=60)
        assert {r.user_id for r in rows} >= set(acked)
        assert len(rows) == len({r.user_id for r in rows})
    finally:
        await bot.stop()
        await llm.stop()
