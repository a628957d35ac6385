"""Text a platform sends: cut into messages, clipped to a field, escaped for its markup.

Why one module: every platform caps its fields and messages and every platform shows user,
pack and grader text that must stay inert. Written once, a limit or an escape rule cannot
drift between Slack and Discord (blank text, for one, gives no piece on either).

Escaping: graders return plain text (docs/design.md, "Grades"), and part of it can be steered
by the answer (an LLM's feedback, a quoted misconception), as can every name and answer a
reveal shows. Shown raw, `<!channel>` or `@everyone` would notify a whole workspace, `<@U123>`
would ping a user and markdown could disguise the message.
- Slack mrkdwn: `&`, `<` and `>` are the three characters Slack's docs require to be escaped
  (which turns every `<...>` control sequence, such as `<!here>` or `<@U123>`, into inert
  text); a bare `@channel`/`@here`/`@everyone`, and the `@` of an escaped `<@...`, get an
  invisible word joiner (U+2060) after the `@`.
- Discord markdown: markdown characters are backslash-escaped, and a zero-width space (U+200B)
  after `@` or `<` breaks every mention (`@everyone`, `@here`, `<@123>`, `<@&42>`, `<#7>`,
  `</cmd:1>`) without changing what a reader sees. Messages are in addition sent with
  `allowed_mentions` that parse nothing.
- Masked links (`[the docs](https://evil.example)`) are removed from the core's text before
  escaping, keeping their words: a model steered by an answer could otherwise show a harmless
  label over any URL (escaping alone would still print the URL beside it).
- A terminal: escape sequences (ANSI CSI/OSC), other control characters and bidirectional
  overrides are removed, so a name or a model's text cannot recolour, retitle or reorder what
  the console prints.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
WORD_JOINER = "\u2060"
ELLIPSIS = "…"

_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: Slack only turns bare `@channel`-style words into mentions when a message asks for
#: `link_names`; breaking them (and the `@` of an escaped `<@U123>`) keeps that true whatever
#: the adapter sends. `@channelled` or `ann@example.com` are left alone.
_SLACK_MENTION = re.compile(r"(?<=&lt;)@|@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)

_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|\[\]])")
#: Markdown that only applies at the start of a line: quotes, headers, subtext, bullets...
_DISCORD_LINE_START = re.compile(r"^(\s*)([>#+-])", re.MULTILINE)
#: ... and numbered lists, whose dot is the character to escape.
_DISCORD_NUMBERED = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
#: `@everyone`, `@here`, `<@123>`, `<@!123>` (user), `<@&123>` (role), `<#123>` (channel),
#: `</cmd:123>` (command).
_DISCORD_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)|<(?=#\d|/)", re.IGNORECASE)


#: `[words](url)`, `[words](<url>)`, `[words](url "title")`; the words may not span lines.
_MASKED_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?[^()\s<>]+>?(?:\s+\"[^\"]*\")?\s*\)")
#: ANSI escape sequences: CSI (`ESC [ ... final`), OSC (`ESC ] ... BEL|ESC \`), and
#: two-character escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
#: C0 and C1 controls other than tab and newline, and the bidirectional overrides/isolates.
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_masked_links(text: str) -> str:
    """`[words](url)` reduced to `words`, everywhere in `text`."""
    return _MASKED_LINK.sub(lambda m: m.group(1), text)


def terminal_safe(text: str) -> str:
    """Text a terminal prints as it reads: no escape sequence, control or bidi override."""
    return _TERMINAL_UNSAFE.sub("", _ANSI.sub("", text))


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, its cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def chunks(text: str, limit: int) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at line ends where possible
    (a line longer than a piece is cut where it must be); blank text gives no piece."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    parts.append(current)
    return [part.rstrip("\n") for part in parts if part.strip()]


def slack_escape(text: str) -> str:
    """Plain text made inert for a Slack mrkdwn field: entities escaped, mentions broken."""
    escaped = "".join(_SLACK_ENTITIES.get(ch, ch) for ch in text)
    return _SLACK_MENTION.sub("@" + WORD_JOINER, escaped)


def slack_escape_clipped(text: str, limit: int) -> str:
    """Escaped, then cut to `limit` characters without splitting an entity like `&amp;`."""
    escaped = slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def discord_escape(text: str) -> str:
    """Plain text made safe for Discord markdown: markdown escaped, mentions broken."""
    escaped = _DISCORD_MARKDOWN.sub(r"\\\1", text)
    escaped = _DISCORD_LINE_START.sub(r"\1\\\2", escaped)
    escaped = _DISCORD_NUMBERED.sub(r"\1\\.", escaped)
    return _DISCORD_MENTION.sub(lambda m: m.group(0) + ZWSP, escaped)
