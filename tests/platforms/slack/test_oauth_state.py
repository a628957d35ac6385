"""Issue 12, finding 9: `GET /slack/install` is unauthenticated and wrote a state row per hit.
The OAuth state is now signed and stateless: issuing one writes nothing, a tampered or expired
one is refused, and a real install still completes against the fake Slack."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.store.tables import slack_installations
from tests.platforms.slack.conftest import Factory, Harness
from tests.platforms.slack.test_workspaces import OAUTH


async def _state(h: Harness) -> str:
    async with h.session.get(f"{h.url}/slack/install") as page:
        assert page.status == 200
        found = re.search(r"state=([\w.-]+)", await page.text())
    assert found
    return found.group(1)


async def _finish(h: Harness, state: str) -> int:
    async with h.session.get(
        f"{h.url}/slack/oauth_redirect?code=c0de&state={state}",
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    ) as done:
        return done.status


async def _installed(h: Harness) -> int:
    async with h.core.db.read() as conn:
        return int(
            await conn.scalar(sa.select(sa.func.count()).select_from(slack_installations)) or 0
        )


async def test_finding9_300_install_pages_write_no_row(slack: Factory, writes: list[str]) -> None:
    h = await slack(**OAUTH)
    states: list[str] = []
    for _ in range(10):
        states += await asyncio.gather(*(_state(h) for _ in range(30)))
    assert len(set(states)) == 300
    assert writes == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-2] + ("AA" if s[-2:] != "AA" else "BB"),  # another signature
        lambda s: str(int(s.split(".")[0]) + 3600) + s[s.index(".") :],  # a later expiry
        lambda s: s.rpartition(".")[0],  # no signature
        lambda s: "forged.state.value",
    ],
)
async def test_finding9_a_tampered_state_is_refused(slack: Factory, tamper: Any) -> None:
    h = await slack(**OAUTH)
    forged = tamper(await _state(h))
    assert await _finish(h, forged) != 200
    assert await _installed(h) == 0
    assert h.fake.called("oauth.v2.access") == []


async def test_finding9_an_expired_state_is_refused(slack: Factory, clock: ManualClock) -> None:
    h = await slack(**OAUTH)
    state = await _state(h)
    clock.advance(timedelta(minutes=11))
    assert await _finish(h, state) != 200
    assert await _installed(h) == 0


async def test_finding9_the_real_oauth_flow_still_installs(
    slack: Factory, clock: ManualClock, writes: list[str]
) -> None:
    """Two replicas (one database): the install starts on one and finishes on the other."""
    first = await slack(**OAUTH)
    other = await slack(**OAUTH)
    state = await _state(first)
    clock.advance(timedelta(minutes=9))
    assert await _finish(other, state) == 200
    assert await _installed(other) == 1
    assert any("slack_installations" in statement for statement in writes)
