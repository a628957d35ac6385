"""The app manifest in the repository asks for what the code uses, no more, no less."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.platforms.slack.service import BOT_SCOPES

MANIFEST = yaml.safe_load((Path(__file__).parents[3] / "slack_manifest.yaml").read_text())


def test_scopes_match_the_oauth_install() -> None:
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_events_command_interactivity_and_socket_mode_are_declared() -> None:
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
        "message.channels",
        "message.groups",
        "message.im",
    }
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/drill"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"]
