"""A Slack workspace installed through OAuth, as the tests and the benchmark set one up."""

from __future__ import annotations

from slack_sdk.oauth.installation_store import Installation

from bot.app import Core
from bot.platforms.slack.installations import InstallationStore

#: A DRILLBOT_SECRET_KEY for tests and benchmarks (a Fernet key made for them, no secret).
TEST_SECRET_KEY = "Ft8p2NbLYN_crvto2VFyBYFXPmwLgct3LYfHOjIEWms="


async def install(store: InstallationStore, core: Core, team: str) -> None:
    """Team `team`'s bot token (`xoxb-<team>`, bot user `UB<team>`) saved, and its workspace."""
    await store.async_save(
        Installation(
            app_id="A111",
            team_id=team,
            team_name=f"team {team}",
            bot_token=f"xoxb-{team}",
            bot_id=f"BB{team}",
            bot_user_id=f"UB{team}",
            user_id="UADMIN",
        )
    )
    await core.tenants.ensure_workspace(team, "slack", f"team {team}")
