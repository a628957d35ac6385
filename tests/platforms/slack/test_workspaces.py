"""Many workspaces over HTTP + OAuth: install, tokens at rest, isolation, uninstall."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App, Core
from bot.domain.types import ChannelRef
from bot.errors import StartupError
from bot.platforms.slack import blocks
from bot.platforms.slack.installations import InstallationStore
from bot.platforms.slack.service import build_service
from bot.store.tables import answers, slack_installations, workspaces
from testing.polling import eventually
from testing.slack import payloads as p
from testing.slack.fake_slack import FakeSlack
from testing.slack.installs import TEST_SECRET_KEY, install
from tests.platforms.slack.conftest import Factory, Harness, slack_settings

OAUTH = {
    "slack_bot_token": None,
    "slack_client_id": "111.222",
    "slack_client_secret": "client-secret",
    "secret_key": TEST_SECRET_KEY,
}


async def _install(h: Harness, team: str) -> None:
    store = h.service.api.installations
    assert isinstance(store, InstallationStore)
    await install(store, h.core, team)


async def _oauth(slack: Factory) -> Harness:
    h = await slack(**OAUTH)
    for team in ("T1", "T2"):
        await _install(h, team)
    return h


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


async def _count(core: Core, team: str) -> int:
    async with core.db.read() as conn:
        return int(
            await conn.scalar(
                sa.select(sa.func.count())
                .select_from(answers)
                .where(answers.c.workspace_id == team)
            )
        )


async def test_oauth_install_stores_the_token_encrypted_and_activates_the_workspace(
    slack: Factory,
) -> None:
    h = await slack(**OAUTH)
    async with h.session.get(f"{h.url}/slack/install") as page:
        assert page.status == 200
        html = await page.text()
    state = re.search(r"state=([\w.-]+)", html)
    assert state, html
    cookie = {"Cookie": f"slack-app-oauth-state={state.group(1)}"}
    async with h.session.get(
        f"{h.url}/slack/oauth_redirect?code=c0de&state={state.group(1)}", headers=cookie
    ) as done:
        assert done.status == 200, await done.text()
    team = "T9TK3CUKW"  # the documented oauth.v2.access example
    async with h.core.db.read() as conn:
        row = (await conn.execute(sa.select(slack_installations))).one()
        active = await conn.scalar(sa.select(workspaces.c.active).where(workspaces.c.id == team))
    assert row.team_id == team and active
    assert row.bot_token != f"xoxb-{team}" and "xoxb" not in row.bot_token
    found = await h.service.api.installations.find(team)
    assert found and found.bot_token == f"xoxb-{team}" and found.bot_id == f"BB{team}"
    async with h.session.get(
        f"{h.url}/slack/oauth_redirect?code=c0de&state={state.group(1)}"
    ) as elsewhere:
        assert elsewhere.status != 200  # bound to the browser that started the install


async def test_oauth_needs_a_secret_key(
    db, core: Core, fake: FakeSlack
) -> None:
    settings = slack_settings(fake, **{**OAUTH, "secret_key": None})
    with pytest.raises(StartupError, match="DRILLBOT_SECRET_KEY"):
        await build_service(App(settings, db, core))


async def test_an_event_of_one_workspace_never_touches_another(slack: Factory) -> None:
    h = await _oauth(slack)
    daily = await h.daily("T1", "C1")  # T2 has a channel of the same id
    ts = daily.message_id
    await h.event(p.thread_reply("T2", "C1", "U1", ts, h.next_ts(), "steal", h.next_id()))
    click = p.block_action(
        "T2", "C1", "U1", ts, blocks.ANSWER_ACTION, str(daily.id), h.next_id("trig")
    )
    await h.interaction(click)
    choice = p.choice_click("T2", "C1", "U1", ts, daily.id, "A", h.next_id("trig"))
    await h.interaction(choice)
    await eventually(lambda: len(h.fake.ephemerals("T2")) == 2)
    await h.service.events.inflight.wait(5)
    await h.core.grading.drain()
    assert await _count(h.core, "T1") == 0 and await _count(h.core, "T2") == 0
    assert h.fake.called("views.open") == []
    assert all("no longer exists" in e["text"] for e in h.fake.ephemerals("T2"))
    assert [c.team for c in h.fake.calls if c.method == "chat.postEphemeral"] == ["T2", "T2"]


@pytest.mark.parametrize(
    "order", [("app_uninstalled", "tokens_revoked"), ("tokens_revoked", "app_uninstalled")]
)
async def test_uninstall_in_either_order_deletes_tokens_and_stops_schedules(
    slack: Factory, order: tuple[str, str]
) -> None:
    h = await _oauth(slack)
    for team in ("T1", "T2"):
        await h.core.tenants.ensure_channel(ChannelRef(team, "C1"))
    for kind in order:
        name = f"event_{kind}"
        sent = await h.event(p.simple_event(name, "T1", h.next_id()))
        assert sent.status == 200
    store = h.service.api.installations

    async def left() -> bool:
        return await store.find("T1") is None

    async def scheduled() -> set[str]:
        return {c.workspace_id for c in await h.core.store.tenancy.scheduled_channels(["slack"])}

    await eventually(left)
    await eventually(lambda: _is(scheduled(), {"T2"}))
    assert await store.find("T2") is not None
    calls_before = len(h.fake.calls)
    daily = await h.daily("T2", "C1")
    assert daily.message_id
    sent = await h.event(p.thread_reply("T1", "C1", "U1", "1.2", h.next_ts(), "x", h.next_id()))
    assert sent.status == 200  # acked, but nobody acts for a workspace that left
    await h.core.grading.drain()
    assert await _count(h.core, "T1") == 0
    await h.core.tick.run()
    # fault F11: no API call for the departed workspace afterwards
    assert [c.method for c in h.fake.calls[calls_before:] if c.team == "T1"] == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"slack_mode": "socket", "slack_app_token": None}, "SLACK_APP_TOKEN"),
        ({"slack_mode": "socket", "slack_client_id": "1.2"}, "SLACK_MODE=http"),
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET"),
        ({"slack_bot_token": None}, "SLACK_BOT_TOKEN"),
    ],
)
async def test_settings_that_cannot_work_are_refused_with_what_to_set(
    db, core: Core, fake: FakeSlack, settings: dict, message: str
) -> None:
    with pytest.raises(StartupError, match=message):
        await build_service(App(slack_settings(fake, **settings), db, core))
