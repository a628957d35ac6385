"""Discord's limits and the command text, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.commands import SPECS, Spec, parse
from bot.domain.types import ChannelRef, DailyPost, Reveal, TopAnswer
from bot.platforms.common.text import chunks
from bot.platforms.discord import render as look
from bot.platforms.discord.commands import OPTIONS, command_text, options_of
from tests.platforms.discord.conftest import OPEN

WHEN = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_long_text_is_split_into_messages_discord_accepts() -> None:
    text = "\n".join(["x" * 1500, "y" * 1500, "z" * 4500])
    parts = chunks(text, look.CONTENT_LIMIT)
    assert all(0 < len(p) <= look.CONTENT_LIMIT for p in parts)
    assert "".join(parts) == text.replace("\n", "")
    assert chunks("  \n", look.CONTENT_LIMIT) == []


def test_embeds_stay_within_discord_limits_whatever_the_question() -> None:
    huge = OPEN.model_copy(update={"prompt": "why? " * 2000, "topic": "t" * 300})
    post = DailyPost(7, ChannelRef("1", "2"), huge, WHEN, False, "Reply in the thread.")
    embed = look.daily_embed(post, message_content=True)
    assert len(embed.title or "") <= look.TITLE_LIMIT
    assert len(embed.description or "") <= look.DESCRIPTION_LIMIT
    assert len(embed) <= 6000
    assert len(look.thread_name(post)) <= look.THREAD_NAME_LIMIT
    assert len(look.nonce(post.key)) <= 25


def test_the_reveal_escapes_what_users_wrote() -> None:
    top = [TopAnswer("Alice", 9, "**bold** @everyone <@123456789012345678>")]
    reveal = Reveal(7, ChannelRef("1", "2"), "3", OPEN, answered=1, top=top)
    description = look.reveal_embed(reveal).description or ""
    assert "\\*\\*bold\\*\\*" in description
    assert "@\u200beveryone" in description and "@\u200b123456789012345678" in description


def test_options_turn_back_into_the_text_the_core_parses() -> None:
    text = command_text(
        "schedule",
        OPTIONS["schedule"],
        {"cron": "0 9 * * MON-FRI", "tz": "Europe/Berlin", "topics": "ml,stats", "window": None},
    )
    assert text == "schedule 0 9 * * MON-FRI tz=Europe/Berlin topics=ml,stats"
    assert parse(text).args["timezone"] == "Europe/Berlin"
    board = command_text("leaderboard", OPTIONS["leaderboard"], {"period": "all"})
    assert parse(board).args == {"kind": "points", "scope": "all", "board": "channel"}


def test_every_spec_gets_options_and_new_ones_a_free_text_option() -> None:
    assert all(isinstance(options_of(name, spec), tuple) for name, spec in SPECS.items())
    assert options_of("streak", SPECS["streak"]) == ()
    future = Spec("/drill quiz TOPIC [N]", "a quiz", False, lambda args: {})
    (free,) = options_of("quiz", future)
    assert free.form == "raw"
    assert command_text("quiz", (free,), {"arguments": "sql 3"}) == "quiz sql 3"


def test_finding10_content_parts_escape_and_stay_within_the_limit() -> None:
    from bot.platforms.discord.render import CONTENT_LIMIT, content_parts

    parts = content_parts("[x](https://e.vil) " + "*_" * 3000)
    assert all(len(part) <= CONTENT_LIMIT for part in parts)
    assert parts[0].startswith("x \\*\\_") and "e.vil" not in "".join(parts)
