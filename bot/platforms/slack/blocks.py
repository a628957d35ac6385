"""Block Kit renderings of what drillbot shows on Slack, within Slack's limits.

Every text that comes from a user, a question pack or a grader is plain text: it is escaped
here (`bot.platforms.common.text.slack_escape`), so it can never form a link, a user mention or
`<!channel>`. Only this module adds markup. Limits (Slack's Block Kit reference): 50 blocks a
message and 100 in a modal or Home tab, 3,000 characters in a section, 150 in a header, 75 in
a button, 24 in a modal title.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import render
from bot.domain.selfcheck import CheckView
from bot.domain.types import DailyPost, Digest, Reveal
from bot.packs import Question
from bot.platforms.common.text import (
    chunks,
    clip,
    slack_escape,
    slack_escape_clipped,
    strip_masked_links,
)

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SURFACE_BLOCKS = 100
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
#: Notification text beside blocks; Slack truncates message text far later, but a
#: notification this long is useless.
MAX_FALLBACK = 300
#: Slack recommends at most 4,000 characters of message text; the core refuses longer
#: answers, and the modal's input stops there.
MAX_ANSWER = 4000

ANSWER_ACTION = "drill_answer"
CHOICE_ACTION_PREFIX = "drill_choice_"
ANSWER_MODAL = "drill_answer_modal"
ANSWER_BLOCK = "answer"
ANSWER_INPUT = "text"
CHECK_ACTION = "drill_check"
#: A self-check's checkbox group is in a block named after its answer: `drill_check_12`.
CHECK_BLOCK_PREFIX = "drill_check_"
#: Slack's cap on an option's text; the full key points are in the message above.
MAX_OPTION = 75

#: A reaction per grade band (names of Slack's standard emoji set).
BAND_EMOJI = {
    "excellent": "star",
    "good": "white_check_mark",
    "partial": "large_orange_diamond",
    "needs work": "small_red_triangle",
}


def slack_date(when: datetime, tokens: str = "{date_short_pretty} at {time}") -> str:
    """A time each reader sees in their own time zone; UTC for clients that cannot."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{tokens}|{fallback}>"


def sections(mrkdwn: str, budget: int) -> list[Block]:
    """Section blocks of already-escaped mrkdwn; past `budget` blocks the rest is cut."""
    parts = chunks(mrkdwn, MAX_SECTION) or [" "]  # a section needs text, even blank
    if len(parts) > budget:
        parts = [*parts[: budget - 1], clip(parts[budget - 1], MAX_SECTION - 40) + "\n_(cut)_"]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in parts]


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _button(text: str, action_id: str, value: str, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(text, MAX_BUTTON),
        "action_id": action_id,
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(mrkdwn, MAX_SECTION)}]}


@dataclass(frozen=True)
class Message:
    """What `chat.postMessage` and friends take: notification text and blocks."""

    text: str
    blocks: list[Block]

    def as_args(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def text_message(text: str) -> Message:
    """Plain text from the core (feedback, replies, notices: names and grader text inside) as
    an escaped message, masked links removed."""
    text = strip_masked_links(text)
    return Message(
        slack_escape_clipped(text, MAX_FALLBACK), sections(slack_escape(text), MAX_BLOCKS)
    )


def check_message(text: str, check: CheckView) -> Message:
    """Feedback with its key points as checkboxes, ticked where they count as covered now:
    ticking or unticking one is a self-check (docs/design.md "Grades")."""
    message = text_message(text)
    options = [
        {"text": _plain(f"{m.number}. {m.text}", MAX_OPTION), "value": str(m.number)}
        for m in check.marks
    ]
    group: Block = {"type": "checkboxes", "action_id": CHECK_ACTION, "options": options}
    ticked = [options[n - 1] for n in check.covered]
    if ticked:
        group["initial_options"] = ticked
    actions = {"type": "actions", "block_id": f"{CHECK_BLOCK_PREFIX}{check.answer_id}"}
    blocks = [*message.blocks[: MAX_BLOCKS - 1], {**actions, "elements": [group]}]
    return Message(message.text, blocks)


def checked(action: dict[str, Any]) -> tuple[int, list[int]]:
    """(answer id, key point numbers ticked) of a checkbox group's action."""
    answer_id = int(str(action["block_id"]).removeprefix(CHECK_BLOCK_PREFIX))
    return answer_id, [int(o["value"]) for o in action.get("selected_options") or []]


def _choices(question: Question) -> str:
    return "\n".join(
        f"*{letter})* {slack_escape(choice)}"
        for letter, choice in zip(question.letters, question.choices, strict=True)
    )


def daily_message(post: DailyPost) -> Message:
    """The daily: header, question, choices or the Answer privately button, close time."""
    q = post.question
    title = "Extra question" if post.extra else "Daily question"
    tail: list[Block] = []
    if q.type == "mcq":
        tail.append({"type": "section", "text": {"type": "mrkdwn", "text": _choices(q)}})
        buttons = [
            _button(letter, f"{CHOICE_ACTION_PREFIX}{letter}", f"{post.daily_id}:{letter}")
            for letter in q.letters
        ]
        tail.append({"type": "actions", "block_id": "drill_choices", "elements": buttons})
    else:
        answer = _button("Answer privately", ANSWER_ACTION, str(post.daily_id), primary=True)
        tail.append({"type": "actions", "block_id": "drill_actions", "elements": [answer]})
    closes = slack_date(post.closes_at)
    tail.append(_context(f"Closes {closes} · {slack_escape(post.how_to_answer)}"))
    header: Block = {
        "type": "header",
        "text": _plain(f"{title}: {q.topic} · {q.difficulty}", MAX_HEADER),
    }
    body = sections(slack_escape(q.prompt), MAX_BLOCKS - 1 - len(tail))
    text = slack_escape_clipped(f"{title} ({q.topic}, {q.difficulty}): {q.prompt}", MAX_FALLBACK)
    return Message(text, [header, *body, *tail])


def reveal_message(reveal: Reveal) -> Message:
    """The reveal, escaped as a whole: names and answers are user text."""
    text = strip_masked_links(render.reveal_text(reveal))
    return Message(
        slack_escape_clipped(text.splitlines()[0], MAX_FALLBACK),
        sections(slack_escape(text), MAX_BLOCKS),
    )


def digest_message(digest: Digest) -> Message:
    """The weekly digest: a header and one section per fact, every name escaped (so never a
    mention)."""
    header: Block = {"type": "header", "text": _plain(digest.title, MAX_HEADER)}
    if not digest.sections:
        body = sections(slack_escape(digest.title), 1)
        return Message(slack_escape_clipped(digest.title, MAX_FALLBACK), body)
    body = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": clip(f"*{slack_escape(label)}*\n{slack_escape(text)}", MAX_SECTION),
            },
        }
        for label, text in digest.sections[: MAX_BLOCKS - 1]
    ]
    return Message(slack_escape_clipped(digest.title, MAX_FALLBACK), [header, *body])


@dataclass(frozen=True)
class ModalContext:
    """What the Answer privately modal carries to its submission (private_metadata)."""

    daily_id: int
    channel_id: str
    thread_ts: str

    def dump(self) -> str:
        return json.dumps({"d": self.daily_id, "c": self.channel_id, "t": self.thread_ts})

    @classmethod
    def load(cls, raw: str) -> ModalContext:
        data = json.loads(raw)
        return cls(int(data["d"]), str(data["c"]), str(data["t"]))


def answer_modal(question: Question, context: ModalContext) -> Block:
    """The form of the Answer privately button; Slack itself stops input at 4,000 chars."""
    answer_input: Block = {
        "type": "input",
        "block_id": ANSWER_BLOCK,
        "label": _plain("Your answer (shown to no one until the reveal)", MAX_HEADER),
        "element": {
            "type": "plain_text_input",
            "action_id": ANSWER_INPUT,
            "multiline": True,
            "max_length": MAX_ANSWER,
        },
    }
    return {
        "type": "modal",
        "callback_id": ANSWER_MODAL,
        "private_metadata": context.dump(),
        "title": _plain("Answer privately", 24),
        "submit": _plain("Submit", 24),
        "close": _plain("Cancel", 24),
        "blocks": [*sections(slack_escape(question.prompt), MAX_SURFACE_BLOCKS - 1), answer_input],
    }


def home_view(lines: Sequence[str], hint: str) -> Block:
    """The App Home tab: one section per line of the user's summary (already escaped)."""
    blocks: list[Block] = [{"type": "header", "text": _plain("Your drill progress", MAX_HEADER)}]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(line, MAX_SECTION)}}
        for line in lines[: MAX_SURFACE_BLOCKS - 3]
    ]
    blocks += [{"type": "divider"}, _context(hint)]
    return {"type": "home", "blocks": blocks}
