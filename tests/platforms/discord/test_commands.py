"""`/drill` as Discord app commands: registration, deferral, options, admins, threads."""

from __future__ import annotations

from bot.domain.commands import SPECS
from testing.discord.fake_discord import MANAGE_GUILD
from testing.polling import eventually
from tests.platforms.discord.conftest import Harness

EPHEMERAL = 64


async def test_drill_is_synced_with_every_subcommand(harness: Harness) -> None:
    await harness.start()
    (drill,) = harness.fake.synced["global"]
    assert drill["name"] == "drill"
    assert [o["name"] for o in drill["options"]] == list(SPECS)
    assert "check" in SPECS and len(drill["options"]) <= 25  # Discord's cap on subcommands
    practice = next(o for o in drill["options"] if o["name"] == "practice")
    assert practice["options"][0]["autocomplete"] is True
    board = next(o for o in drill["options"] if o["name"] == "leaderboard")
    kind, scope = board["options"][0], board["options"][1]
    assert [c["value"] for c in kind["choices"]] == ["points", "improved", "consistency"]
    assert [c["value"] for c in scope["choices"]] == ["week", "month", "all"]
    assert len(drill["options"]) <= 25  # Discord's cap on subcommands


async def test_drill_is_synced_to_the_command_guilds_at_once(harness: Harness) -> None:
    await harness.start(discord_command_guilds=[harness.guild])
    assert list(harness.fake.synced) == [str(harness.guild)]
    assert harness.fake.synced[str(harness.guild)][0]["name"] == "drill"


async def test_a_command_is_deferred_then_answered_ephemerally(harness: Harness) -> None:
    await harness.start()
    call = await harness.fake.slash(
        harness.alice, harness.channel, "leaderboard", period="month", board="workspace"
    )
    await eventually(lambda: harness.fake.replies(call))
    (defer,) = harness.fake.callbacks[int(call["id"])]
    assert defer == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert "Leaderboard, the workspace, this month" in harness.fake.replies(call)[0]
    followup = harness.fake.followups[call["token"]][0]
    assert followup["flags"] & EPHEMERAL
    assert followup["allowed_mentions"] == {"parse": []}


async def test_admin_commands_need_manage_server(harness: Harness) -> None:
    await harness.start()
    refused = await harness.fake.slash(harness.alice, harness.channel, "post-now")
    await eventually(lambda: harness.fake.replies(refused))
    assert "is for workspace admins" in harness.fake.replies(refused)[0]
    assert harness.fake.bot_messages(harness.channel) == []

    schedule = await harness.fake.slash(
        harness.owner,
        harness.channel,
        "schedule",
        permissions=MANAGE_GUILD,
        cron="0 9 * * MON-FRI",
        tz="Europe/Berlin",
        feedback="thread",
    )
    await eventually(lambda: harness.fake.replies(schedule))
    settings = harness.fake.replies(schedule)[0]
    assert "Settings of #interview-prep" in settings
    assert "tz: Europe/Berlin" in settings and "feedback: thread" in settings

    post = await harness.fake.slash(
        harness.owner, harness.channel, "post-now", permissions=MANAGE_GUILD
    )
    await eventually(lambda: harness.fake.replies(post))
    assert len(harness.fake.bot_messages(harness.channel)) == 1


async def test_a_redelivered_interaction_is_answered_once(harness: Harness) -> None:
    await harness.start()
    post = await harness.fake.slash(
        harness.owner, harness.channel, "post-now", permissions=MANAGE_GUILD
    )
    await eventually(lambda: harness.fake.replies(post))
    await harness.fake.redeliver_interaction(post)
    callback = f"/interactions/{post['id']}/{post['token']}/callback"
    await eventually(lambda: [c.path for c in harness.fake.calls].count(callback) == 2)
    assert len(harness.fake.callbacks[int(post["id"])]) == 1
    assert len(harness.fake.replies(post)) == 1
    assert len(harness.fake.bot_messages(harness.channel)) == 1


async def test_bad_options_get_usage_not_a_trace(harness: Harness) -> None:
    await harness.start()
    call = await harness.fake.slash(
        harness.owner, harness.channel, "config", permissions=MANAGE_GUILD, tz="Nowhere/Land"
    )
    await eventually(lambda: harness.fake.replies(call))
    assert "unknown timezone 'Nowhere/Land'" in harness.fake.replies(call)[0]


async def test_topics_are_suggested_as_the_user_types(harness: Harness) -> None:
    await harness.start()
    typing = await harness.fake.complete(harness.alice, harness.channel, "practice", "topic", "st")
    await eventually(lambda: harness.fake.callbacks[int(typing["id"])])
    (suggestions,) = harness.fake.callbacks[int(typing["id"])]
    assert suggestions["type"] == 8
    assert suggestions["data"]["choices"] == [{"name": "stats", "value": "stats"}]
    listing = await harness.fake.complete(
        harness.owner, harness.channel, "config", "topics", "ml,st"
    )
    await eventually(lambda: harness.fake.callbacks[int(listing["id"])])
    choices = harness.fake.callbacks[int(listing["id"])][0]["data"]["choices"]
    assert choices == [{"name": "ml,stats", "value": "ml,stats"}]


async def test_a_command_in_a_daily_thread_counts_for_its_channel(harness: Harness) -> None:
    await harness.start()
    daily = await harness.daily()
    call = await harness.fake.slash(harness.alice, int(daily.message_id), "streak")
    await eventually(lambda: harness.fake.replies(call))
    assert "Your streak in interview-prep" in harness.fake.replies(call)[0]
