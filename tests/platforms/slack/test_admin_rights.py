"""Issue 12, finding 16: Slack admin status was cached for an hour, so a demoted admin kept
their rights. An admin's role is now checked with Slack on every delivery; only non-admin
answers are remembered, for `SLACK_CACHE_SECONDS`."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from testing.polling import eventually
from tests.platforms.slack.conftest import Factory, Harness


async def _answer(h: Harness, user: str, text: str) -> str:
    before = len(h.fake.responses)
    await h.command("T1", "C1", user, text)
    responses = await eventually(lambda: h.fake.responses[before:])
    return str(responses[0]["text"])


async def _paused(h: Harness) -> bool:
    channel = await h.core.store.tenancy.channel("T1", "C1")
    assert channel is not None
    return bool(channel.paused)


async def test_finding16_a_demoted_admin_loses_rights_at_once(slack: Factory) -> None:
    h = await slack()
    await _answer(h, "UADMIN", "schedule 0 9 * * MON-FRI")
    await _answer(h, "UADMIN", "pause")
    assert await _paused(h)

    h.fake.users[("T1", "UADMIN")]["is_admin"] = False  # demoted in Slack
    refused = await _answer(h, "UADMIN", "resume")
    assert "is for workspace admins" in refused
    assert await _paused(h)


async def test_finding16_a_promoted_member_gains_rights_within_the_cache_time(
    slack: Factory, clock: ManualClock
) -> None:
    h = await slack()
    await _answer(h, "UADMIN", "schedule 0 9 * * MON-FRI")
    assert "is for workspace admins" in await _answer(h, "U1", "pause")
    h.fake.users[("T1", "U1")]["is_admin"] = True  # promoted in Slack
    clock.advance(timedelta(seconds=61))
    await _answer(h, "U1", "pause")
    assert await _paused(h)
