"""How drillbot's values look on Discord, within Discord's limits.

Discord refuses a message whose content passes 2,000 characters or whose embed passes its
caps (title 256, description 4,096, field 1,024, footer 2,048, 6,000 in all), and a nonce
longer than 25 characters. Everything the adapter sends is shaped here, so no send fails for
its size. The facts come from `bot.domain.render`; names, user and grader text inside them
are escaped here (`content_parts` for every text message).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Final

import discord

from bot.domain import render
from bot.domain.types import DailyPost, Digest, Reveal
from bot.platforms.common.text import chunks, clip, discord_escape, strip_masked_links

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
THREAD_NAME_LIMIT = 100
#: A day: the daily's window is at most 24 h by default, and a reply unarchives the thread.
THREAD_ARCHIVE_MINUTES: Final = 1440

BAND_EMOJI = {"excellent": "🌟", "good": "✅", "partial": "🟡", "needs work": "🔴"}


def nonce(key: str) -> str:
    """The post's reservation key squeezed into Discord's 25-character nonce, so a retried
    send with `enforce_nonce` returns the message sent before instead of a second one."""
    return "d" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def how_to_answer(post: DailyPost, message_content: bool) -> str:
    """Discord's ways to answer: choice buttons for an MCQ; for an open question the Answer
    privately form, and thread replies only when the bot can read them (Message Content)."""
    if post.question.type == "mcq":
        return "Press the letter of your choice below; your first choice counts."
    if message_content:
        return post.how_to_answer
    return (
        "Press **Answer privately** to answer; answers stay hidden until the reveal, and a new "
        "answer before the close replaces yours. The thread is for discussion."
    )


def daily_embed(post: DailyPost, message_content: bool) -> discord.Embed:
    """The daily: the question, its topic and difficulty, the close time in each reader's own
    time zone, and the reservation key in the footer (what `find_daily` looks for)."""
    question = post.question
    kind = "Extra question" if post.extra else "Daily question"
    closes = int(post.closes_at.timestamp())
    embed = discord.Embed(
        title=clip(f"{kind} · {question.topic} · {question.difficulty}", TITLE_LIMIT),
        description=clip(render.question_text(question), DESCRIPTION_LIMIT),
    )
    embed.add_field(name="Closes", value=f"<t:{closes}:f> (<t:{closes}:R>)", inline=False)
    embed.add_field(
        name="How to answer", value=clip(how_to_answer(post, message_content), FIELD_LIMIT)
    )
    embed.set_footer(text=post.key)
    return embed


def thread_name(post: DailyPost) -> str:
    prompt = " ".join(post.question.prompt.split())
    return clip(f"#{post.daily_id} {prompt}", THREAD_NAME_LIMIT)


def content_parts(text: str) -> list[str]:
    """The core's plain text (feedback, replies, notices: names and grader text inside) as
    messages: masked links removed, markdown and mentions escaped, each within
    `CONTENT_LIMIT` after escaping."""
    parts: list[str] = []
    for piece in chunks(strip_masked_links(text), CONTENT_LIMIT):
        escaped = discord_escape(piece)
        if len(escaped) <= CONTENT_LIMIT:
            parts.append(escaped)
        else:  # escaping at most doubles a character
            parts += [discord_escape(p) for p in chunks(piece, CONTENT_LIMIT // 2)]
    return parts


def reveal_embed(reveal: Reveal) -> discord.Embed:
    """The reveal, with every name and answer escaped (user text: a display name may hold a
    masked link or a mention); the pack's own text keeps its markdown."""
    shown = dataclasses.replace(
        reveal,
        top=[
            dataclasses.replace(t, name=discord_escape(t.name), text=discord_escape(t.text))
            for t in reveal.top
        ],
    )
    return discord.Embed(
        title=clip(f"Reveal · {reveal.question.topic} · {reveal.question.id}", TITLE_LIMIT),
        description=clip(render.reveal_text(shown), DESCRIPTION_LIMIT),
    )


#: Discord allows 25 fields in an embed.
MAX_FIELDS = 25


def digest_embed(digest: Digest) -> discord.Embed:
    """The weekly digest as an embed: one field per fact, names escaped (never a mention)."""
    embed = discord.Embed(title=clip(digest.title, TITLE_LIMIT))
    for label, text in digest.sections[:MAX_FIELDS]:
        embed.add_field(
            name=clip(label, TITLE_LIMIT),
            value=clip(discord_escape(text), FIELD_LIMIT),
            inline=False,
        )
    return embed
