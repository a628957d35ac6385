"""Issue 12, finding 20: `/healthz` runs a database round-trip, and answers 503 when the
database fails (the process is up but could not store an answer)."""

from __future__ import annotations

import aiohttp

from bot.app import App, Core
from bot.platforms.slack.service import build_service
from bot.store.db import Database
from testing.slack.fake_slack import FakeSlack
from tests.platforms.slack.conftest import FAST, Factory, slack_settings

#: Nothing listens on port 1 of the loopback: every connection is refused.
UNREACHABLE = "postgresql+asyncpg://drillbot@127.0.0.1:1/drillbot"


async def _healthz(port: int | None) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


async def test_finding20_healthz_reports_a_working_database(slack: Factory) -> None:
    h = await slack()
    assert await _healthz(h.service.port) == (200, {"ok": True, "database": "ok"})


async def test_finding20_healthz_answers_503_with_a_broken_database(
    core: Core, fake: FakeSlack
) -> None:
    broken = Database(UNREACHABLE)
    service = await build_service(App(slack_settings(fake), broken, core), FAST)
    await service.start()
    try:
        status, body = await _healthz(service.port)
    finally:
        await service.stop()
        await broken.close()
    assert status == 503 and body == {"ok": False, "database": "unavailable"}
