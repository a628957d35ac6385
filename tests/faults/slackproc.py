"""Talking to a `drillbot run` process in Slack HTTP mode as Slack does: signed requests,
and what the fault tests read back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bot.platforms.slack import blocks
from bot.store.db import Database
from bot.store.tables import answers
from testing.polling import eventually
from testing.slack import payloads as p
from testing.slack.fake_slack import FakeSlack

PACKS = Path(__file__).parents[2] / "testing" / "packs"


def slack_env(database_url: str, fake: FakeSlack, **extra: str) -> dict[str, str]:
    """The settings of a single-workspace HTTP-mode process against the fake."""
    return {
        "DRILLBOT_DATABASE_URL": database_url,
        "SLACK_MODE": "http",
        "SLACK_SIGNING_SECRET": p.SECRET,
        "SLACK_BOT_TOKEN": "xoxb-T1",
        "SLACK_API_URL": fake.api_url,
        "DRILLBOT_TICK_SECONDS": "1",
        "DRILLBOT_PACKS": str(PACKS),
        **extra,
    }


async def signed(
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


async def command(
    session: aiohttp.ClientSession, url: str, fake: FakeSlack, text: str
) -> None:
    trigger = f"trig-{text}"
    fields = p.command("T1", "C1", "UADMIN", text, fake.response_url(trigger), trigger)
    assert (await signed(session, url, p.form_body(fields)))[0] == 200


def daily_id(message: dict[str, Any]) -> int:
    for block in message.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == blocks.ANSWER_ACTION:
                return int(element["value"])
    raise AssertionError("the daily has no Answer privately button")


def form(daily_id: int, thread_ts: str) -> dict[str, Any]:
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


async def rows(store: Database) -> list[sa.Row]:
    async with store.read() as conn:
        return list(await conn.execute(sa.select(answers).where(answers.c.workspace_id == "T1")))




async def open_daily(session: aiohttp.ClientSession, url: str, fake: FakeSlack) -> dict[str, Any]:
    """An admin sets C1 to the fault pack's topic and posts a daily now; the posted message."""
    await command(session, url, fake, "config topics=faults")
    await eventually(lambda: fake.responses, within=20)
    await command(session, url, fake, "post-now")
    [daily] = await eventually(lambda: fake.posts("T1", "C1"), within=20)
    return daily


def reply(thread: str, n: int, text: str) -> tuple[str, str]:
    """User U<n>'s thread reply to the daily `thread`, as a signed-ready body."""
    ts = f"{thread[:-6]}{n + 1:06d}"
    return p.json_body(p.thread_reply("T1", "C1", f"U{n:02d}", thread, ts, text, f"Ev{n:04d}"))
