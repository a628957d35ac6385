"""The bad-input audit (research matrix §5.3) against the real Discord service and the fake
Discord: each input gets a clear answer and loses nothing. Run with `make audit`.

Discord reaches drillbot through its gateway here (discord.py), not signed HTTP interaction
posts, so §5.3 B6's Ed25519 cases have no endpoint to hit; Slack's signatures are audited in
tests/platforms/slack/test_audit_bad_input.py."""

from __future__ import annotations

import json

import pytest

from bot.domain.text import clean_text
from testing.discord.fake_discord import MANAGE_GUILD
from testing.polling import eventually
from tests.platforms.console.test_audit_bad_input import TRICKY
from tests.platforms.discord.conftest import GOOD_ANSWER, OPEN, Harness
from tests.platforms.discord.test_escaping import _no_live_link

pytestmark = pytest.mark.audit

LIVE = ("@everyone", "@here")


async def test_B4_unicode_and_markup_are_stored_losslessly_and_never_echo_live(
    harness: Harness,
) -> None:
    await harness.start()
    daily = await harness.daily(OPEN)
    message = harness.daily_message(daily)
    order = ["mentions", "links", *(k for k in TRICKY if k not in ("mentions", "links"))]
    sent: dict[str, str] = {}
    for kind in order:
        user = harness.fake.add_user(f"{TRICKY[kind][:24]} {kind}")
        sent[user["id"]] = f"{TRICKY[kind]} {GOOD_ANSWER}"
        submit = await harness.fake.submit(
            user, message, f"drill:form:{daily.id}", sent[user["id"]]
        )
        await eventually(lambda submit=submit: harness.fake.replies(submit), within=30)
    stored = {row.user_id: row.text for row in await harness.answers()}
    assert stored == {user: clean_text(text) for user, text in sent.items()}
    assert await harness.core.dailies.close_due(harness.ref, force=True) == 1
    reveal = harness.fake.bot_messages(int(daily.message_id))[0]["embeds"][0]["description"]
    assert "@\u200beveryone" in reveal and "\\[click\\]" in reveal  # echoed, escaped
    everything = json.dumps(
        [reveal, *(f for fs in harness.fake.followups.values() for f in fs)],
        ensure_ascii=False,
    )
    for live in LIVE:
        assert live not in everything, live
    assert _no_live_link(everything)
    for followups in harness.fake.followups.values():
        assert all(f["allowed_mentions"] == {"parse": []} for f in followups)


async def test_B5_a_4001_character_form_answer_is_refused_politely_and_nothing_stored(
    harness: Harness,
) -> None:
    await harness.start()
    daily = await harness.daily(OPEN)
    submit = await harness.fake.submit(
        harness.alice, harness.daily_message(daily), f"drill:form:{daily.id}", "x" * 4001
    )
    [reply] = await eventually(lambda: harness.fake.replies(submit), within=30)
    assert "the limit is 4000" in reply
    assert await harness.answers() == []


async def test_B7_a_forged_manage_server_claim_and_another_guild_see_nothing(
    harness: Harness,
) -> None:
    await harness.start()
    daily = await harness.daily(OPEN)
    submit = await harness.fake.submit(
        harness.alice, harness.daily_message(daily), f"drill:form:{daily.id}", GOOD_ANSWER
    )
    await eventually(lambda: harness.fake.replies(submit), within=30)
    # The payload's app_permissions (the bot's) include Manage Server; the member's do not.
    forged = await harness.fake.slash(harness.bob, harness.channel, "pause", permissions=0)
    [refused] = await eventually(lambda: harness.fake.replies(forged), within=30)
    assert "is for workspace admins" in refused
    channel = await harness.core.store.tenancy.channel(
        harness.ref.workspace_id, harness.ref.channel_id
    )
    assert channel is not None and not channel.paused
    # Another guild's board holds nothing of the first one.
    _, other_channel = harness.fake.add_guild("Other server", harness.bob)
    board = await harness.fake.slash(
        harness.bob, other_channel, "leaderboard", period="all", board="workspace"
    )
    [shown] = await eventually(lambda: harness.fake.replies(board), within=30)
    assert "alice" not in shown.lower()
    admin = await harness.fake.slash(
        harness.owner, harness.channel, "pause", permissions=MANAGE_GUILD
    )
    await eventually(lambda: harness.fake.replies(admin), within=30)
    paused = await harness.core.store.tenancy.channel(
        harness.ref.workspace_id, harness.ref.channel_id
    )
    assert paused is not None and paused.paused  # the genuine admin can


async def test_B4_a_reply_echoing_user_text_is_escaped(harness: Harness) -> None:
    """Replies the bridge sends itself (command follow-ups, DMs) go through the same escaping
    as the adapter's messages: an unknown topic is echoed without a live link or mention."""
    await harness.start()
    topic = "[free nitro](https://evil.example) @everyone"
    practice = await harness.fake.slash(harness.alice, harness.channel, "practice", topic=topic)
    await eventually(lambda: harness.fake.replies(practice), within=30)
    dm = harness.fake.dm_channel(harness.alice)
    shown = [*harness.fake.replies(practice)]
    if dm is not None:
        shown += [m.get("content") or "" for m in harness.fake.bot_messages(dm)]
    text = "\n".join(shown)
    assert "Unknown topic" in text and "free nitro" in text, text
    assert "@everyone" not in text and _no_live_link(text), text
