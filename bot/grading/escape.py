"""Escape plain text for Slack mrkdwn and Discord markdown, with no mass or targeted mentions.

Why: graders return plain text (DESIGN.md "Grades"), and part of it can be steered by the
answer (an LLM's feedback, a quoted misconception). Shown raw, `<!channel>` or `@everyone`
would notify a whole workspace, `<@U123>` would ping a user and markdown could disguise the
message. The adapters pass every grader-produced string through these functions; Discord
messages should in addition be sent with `allowed_mentions` that parse nothing.

A zero-width space (U+200B) after `@` or `<` breaks a mention without changing what a reader
sees; markdown characters are backslash-escaped on Discord, and on Slack `&`, `<` and `>` are
the three characters its docs require to be escaped (which also turns every `<...>` control
sequence, such as `<!here>` or `<@U123>`, into inert text).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"

_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: Slack only turns bare `@channel`-style words into mentions when a message asks for
#: `link_names`; breaking them keeps that true whatever the adapter sends.
_BARE_MENTION = re.compile(r"(?<![\w.])@(?=[\w.-])")

_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|\[\]])")
#: Markdown that only applies at the start of a line: quotes, headers, subtext, bullets...
_DISCORD_LINE_START = re.compile(r"^(\s*)([>#+-])", re.MULTILINE)
#: ... and numbered lists, whose dot is the character to escape.
_DISCORD_NUMBERED = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
#: `@everyone`, `@here`, `<@123>`, `<@!123>` (user), `<@&123>` (role), `<#123>` (channel),
#: `</cmd:123>` (command).
_DISCORD_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)|<(?=#\d|/)", re.IGNORECASE)


def slack_text(text: str) -> str:
    """Plain text made safe for a Slack mrkdwn field: entities escaped, mentions broken."""
    escaped = "".join(_SLACK_ENTITIES.get(ch, ch) for ch in text)
    return _BARE_MENTION.sub("@" + ZWSP, escaped)


def discord_text(text: str) -> str:
    """Plain text made safe for Discord markdown: markdown escaped, mentions broken."""
    escaped = _DISCORD_MARKDOWN.sub(r"\\\1", text)
    escaped = _DISCORD_LINE_START.sub(r"\1\\\2", escaped)
    escaped = _DISCORD_NUMBERED.sub(r"\1\\.", escaped)
    return _DISCORD_MENTION.sub(lambda m: m.group(0) + ZWSP, escaped)
