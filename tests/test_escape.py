"""Grader text escaped for Slack mrkdwn and Discord markdown: no mass or targeted mentions."""

from __future__ import annotations

import re

import pytest

from bot.grading.escape import ZWSP, discord_text, slack_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("<!channel> <!here> <!everyone>", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;"),
        ("<@U123> and <!subteam^S1>", f"&lt;@{ZWSP}U123&gt; and &lt;!subteam^S1&gt;"),
        ("hey @channel and @here", f"hey @{ZWSP}channel and @{ZWSP}here"),
        ("mail me at ann@example.com", "mail me at ann@example.com"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
    ],
)
def test_slack(text: str, expected: str) -> None:
    assert slack_text(text) == expected


def test_slack_output_has_no_control_sequence() -> None:
    out = slack_text("<!channel> <@U1> <#C1> <https://x|y> &amp;")
    assert "<" not in out and ">" not in out
    assert "&amp;amp;" in out  # an entity in the text is shown, not interpreted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "**bold** _it_ ~~s~~ `code` ||spoiler||",
            r"\*\*bold\*\* \_it\_ \~\~s\~\~ \`code\` \|\|spoiler\|\|",
        ),
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        (
            "# Title\n> quote\n- item\n1. first\n-# small",
            "\\# Title\n\\> quote\n\\- item\n1\\. first\n\\-# small",
        ),
        ("@everyone @here", f"@{ZWSP}everyone @{ZWSP}here"),
        (
            "<@123456789012345678> <@!1> <@&42> <#7>",
            f"<@{ZWSP}123456789012345678> <@{ZWSP}!1> <@{ZWSP}&42> <{ZWSP}#7>",
        ),
        ("a back\\slash", r"a back\\slash"),
        ("plain text, 3 > 2 and 1.5 < 2", "plain text, 3 > 2 and 1.5 < 2"),
    ],
)
def test_discord(text: str, expected: str) -> None:
    assert discord_text(text) == expected


def test_discord_output_has_no_live_mention() -> None:
    out = discord_text("@everyone <@1> <@&2> @here <@!3>")
    assert not re.search(r"@(everyone|here)|<@[!&]?\d", out)
