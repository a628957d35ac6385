"""Text for platforms: grader text escaped for Slack mrkdwn and Discord markdown (no mass or
targeted mentions), one clip and one chunker."""

from __future__ import annotations

import re

import pytest

from bot.platforms.common.text import (
    WORD_JOINER,
    ZWSP,
    chunks,
    clip,
    discord_escape,
    slack_escape,
    strip_masked_links,
    terminal_safe,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("<!channel> <!here> <!everyone>", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;"),
        ("<@U123> and <!subteam^S1>", f"&lt;@{WORD_JOINER}U123&gt; and &lt;!subteam^S1&gt;"),
        ("hey @channel and @here", f"hey @{WORD_JOINER}channel and @{WORD_JOINER}here"),
        ("mail me at ann@example.com", "mail me at ann@example.com"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
    ],
)
def test_slack(text: str, expected: str) -> None:
    assert slack_escape(text) == expected


def test_slack_output_has_no_control_sequence() -> None:
    out = slack_escape("<!channel> <@U1> <#C1> <https://x|y> &amp;")
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
    assert discord_escape(text) == expected


def test_discord_output_has_no_live_mention() -> None:
    out = discord_escape("@everyone <@1> <@&2> @here <@!3>")
    assert not re.search(r"@(everyone|here)|<@[!&]?\d", out)


def test_clip_marks_its_cut_within_the_limit() -> None:
    assert clip("short", 5) == "short"
    assert clip("longer text", 6) == "longe…"


def test_blank_text_gives_no_piece_whatever_the_platform() -> None:
    assert chunks("", 3000) == [] and chunks("  \n\n", 2000) == []
    assert chunks("a\n\nb", 10) == ["a\n\nb"]
    assert chunks("ab\ncd", 3) == ["ab", "cd"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see [the docs](https://evil.example/a?b=1)", "see the docs"),
        ('[a](<https://e.vil>) and [b](https://x.y "title")', "a and b"),
        ("**[bold](https://e.vil)**", "**bold**"),
        ("[not a link] (https://x.y) and [x]", "[not a link] (https://x.y) and [x]"),
    ],
)
def test_finding10_masked_links_keep_only_their_words(text: str, expected: str) -> None:
    assert strip_masked_links(text) == expected


def test_finding10_terminal_text_loses_escapes_controls_and_bidi_overrides() -> None:
    text = "a\x1b[31mred\x1b[0m \x1b]0;title\x07b\u202eevil\x00\x9b c\n\td"
    assert terminal_safe(text) == "ared bevil c\n\td"
