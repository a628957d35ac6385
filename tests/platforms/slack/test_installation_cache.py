"""Issue 12, finding 8: two replicas on one database. The Slack installation cache never
expired, so after a reinstall or an uninstall on one replica the other kept the old token.
Now an installation is trusted for `SLACK_CACHE_SECONDS` (60 s) and read again at once when
Slack answers `invalid_auth`, `token_revoked` or `account_inactive`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation

from bot.clock import ManualClock
from bot.platforms.slack.api import WorkspaceGone
from bot.platforms.slack.installations import InstallationStore
from testing.slack.installs import install
from tests.platforms.slack.conftest import Factory, Harness
from tests.platforms.slack.test_workspaces import OAUTH


def _store(h: Harness) -> InstallationStore:
    store = h.service.api.installations
    assert isinstance(store, InstallationStore)
    return store


async def _replicas(slack: Factory, **settings: object) -> tuple[Harness, Harness]:
    """Replica `a` installs T1; replica `b` has used (and cached) its token."""
    a, b = await slack(**OAUTH), await slack(**OAUTH, **settings)
    await install(_store(a), a.core, "T1")
    await (await b.service.api.client("T1")).auth_test()
    return a, b


async def _reinstall(h: Harness, token: str) -> None:
    await _store(h).async_save(
        Installation(
            app_id="A111",
            team_id="T1",
            team_name="team T1",
            bot_token=token,
            bot_id="BBT1",
            bot_user_id="UBT1",
            user_id="UADMIN",
        )
    )


async def _token(h: Harness) -> str | None:
    found = await _store(h).find("T1")
    return found.bot_token if found is not None else None


async def test_finding8_a_reinstall_on_another_replica_is_used_at_the_first_refusal(
    slack: Factory,
) -> None:
    a, b = await _replicas(slack)
    new_token = a.fake.reissue("T1")  # the old token now answers token_revoked
    await _reinstall(a, new_token)

    client = await b.service.api.client("T1")  # still the cached, revoked token
    await client.chat_postMessage(channel="C1", text="after the reinstall")

    assert [m["text"] for m in a.fake.posts("T1", "C1")] == ["after the reinstall"]
    assert await _token(b) == new_token


@pytest.mark.parametrize("refusal", ["token_revoked", "invalid_auth"])
async def test_finding8_an_uninstall_on_another_replica_is_seen_at_the_first_refusal(
    slack: Factory, refusal: str
) -> None:
    a, b = await _replicas(slack)
    await _store(a).forget("T1")
    if refusal == "token_revoked":
        a.fake.revoke("xoxb-T1")
    else:
        a.fake.teams.pop("xoxb-T1")

    client = await b.service.api.client("T1")
    with pytest.raises(SlackApiError, match=refusal):
        await client.chat_postMessage(channel="C1", text="nobody home")
    assert await _token(b) is None
    with pytest.raises(WorkspaceGone):
        await b.service.api.client("T1")


@pytest.mark.parametrize("ttl", [None, 5.0])
async def test_finding8_a_cached_installation_expires_after_the_ttl(
    slack: Factory, clock: ManualClock, ttl: float | None
) -> None:
    a, b = await _replicas(slack, **({} if ttl is None else {"slack_cache_seconds": ttl}))
    seconds = ttl or 60.0  # SLACK_CACHE_SECONDS' default
    new_token = a.fake.reissue("T1", revoke_old=False)  # Slack may leave the old one working
    await _reinstall(a, new_token)

    clock.advance(timedelta(seconds=seconds - 1))
    assert await _token(b) == "xoxb-T1"
    clock.advance(timedelta(seconds=2))
    assert await _token(b) == new_token
