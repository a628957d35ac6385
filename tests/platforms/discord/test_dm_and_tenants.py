"""Practice in DMs (the user's own workspace), and servers that never see each other."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bot.domain.types import ChannelRef
from bot.platforms.discord.bridge import dm_workspace
from bot.store.tables import self_checks
from testing.discord.fake_discord import as_shown
from testing.polling import eventually
from tests.platforms.discord.conftest import GOOD_ANSWER, Harness


async def test_practice_from_a_server_moves_to_dms(harness: Harness) -> None:
    await harness.start()
    call = await harness.fake.slash(harness.alice, harness.channel, "practice", topic="ml")
    await eventually(lambda: harness.fake.replies(call))
    assert "direct messages" in harness.fake.replies(call)[0]
    dm = harness.fake.dm_channel(harness.alice)
    assert dm is not None
    question = harness.fake.bot_messages(dm)[0]["content"]
    assert "What is overfitting" in question
    await harness.fake.say(dm, harness.alice, GOOD_ANSWER)
    await eventually(lambda: len(harness.fake.bot_messages(dm)) >= 2)
    assert "/10" in harness.fake.bot_messages(dm)[1]["content"]
    (row,) = await harness.answers()
    alice = int(harness.alice["id"])
    assert (row.workspace_id, row.kind, row.channel_id) == (
        dm_workspace(alice),
        "practice",
        str(dm),
    )
    board = await harness.fake.slash(
        harness.alice, harness.channel, "leaderboard", board="workspace"
    )
    await eventually(lambda: harness.fake.replies(board))
    assert "No graded answers yet" in harness.fake.replies(board)[0]


async def test_practice_run_in_a_dm_is_answered_there(harness: Harness) -> None:
    await harness.start()
    dm = harness.fake.open_dm(harness.bob)
    call = await harness.fake.slash(harness.bob, dm, "practice", topic="stats")
    await eventually(lambda: harness.fake.replies(call))
    assert "robust to outliers" in harness.fake.replies(call)[0]
    await harness.fake.say(dm, harness.bob, "b")
    await eventually(lambda: harness.fake.bot_messages(dm))
    assert "10/10" in harness.fake.bot_messages(dm)[0]["content"]
    (row,) = await harness.answers()
    assert row.workspace_id == dm_workspace(int(harness.bob["id"]))


async def test_a_mock_interview_runs_in_dms(harness: Harness) -> None:
    await harness.start()
    call = await harness.fake.slash(harness.alice, harness.channel, "mock", topic="ml", n="1")
    await eventually(lambda: harness.fake.replies(call))
    dm = harness.fake.dm_channel(harness.alice)
    assert dm is not None
    asked = len(harness.fake.bot_messages(dm))
    assert "Question 1/1" in "\n".join(m["content"] for m in harness.fake.bot_messages(dm))
    await harness.fake.say(dm, harness.alice, GOOD_ANSWER)
    await eventually(lambda: len(harness.fake.bot_messages(dm)) > asked)
    await harness.settle()
    graded = "\n".join(m["content"] for m in harness.fake.bot_messages(dm)[asked:])
    assert "/10" in graded


async def test_export_is_a_file_only_the_user_sees(harness: Harness) -> None:
    await harness.start()
    call = await harness.fake.slash(harness.alice, harness.channel, "export")
    await eventually(lambda: len(harness.fake.files) >= 2)
    alice = harness.alice["id"]
    # The server's data and the user's DM data (practice, mock interviews): one file each.
    names = sorted(name for name, _ in harness.fake.files)
    assert names == sorted(
        [
            f"drillbot-export-{harness.guild}-{alice}.json",
            f"drillbot-export-discord-dm-{alice}-{alice}.json",
        ]
    )
    assert all(json.loads(data)["answers"] == [] for _, data in harness.fake.files)
    assert all(f["flags"] & 64 for f in harness.fake.followups[call["token"]])


async def test_servers_are_isolated(harness: Harness) -> None:
    other, other_channel = harness.fake.add_guild("Other server", harness.bob)
    await harness.start()
    daily = await harness.daily()
    message = harness.daily_message(daily)
    answered = await harness.fake.submit(
        harness.alice, message, f"drill:form:{daily.id}", GOOD_ANSWER
    )
    await eventually(lambda: len(harness.fake.replies(answered)) >= 2)
    # A form for this daily sent from the other server names a daily that is not there.
    message_elsewhere = {**message, "channel_id": str(other_channel)}
    forged = await harness.fake.submit(
        harness.bob, message_elsewhere, f"drill:form:{daily.id}", GOOD_ANSWER
    )
    await eventually(lambda: harness.fake.replies(forged))
    assert "no longer exists" in harness.fake.replies(forged)[0]
    rows = await harness.answers()
    assert [(r.workspace_id, r.user_id) for r in rows] == [
        (str(harness.guild), harness.alice["id"])
    ]
    other_daily = await harness.daily(ref=ChannelRef(str(other), str(other_channel)))
    assert other_daily.id != daily.id
    board = await harness.fake.slash(harness.bob, other_channel, "leaderboard", board="workspace")
    await eventually(lambda: harness.fake.replies(board))
    assert "No graded answers yet" in harness.fake.replies(board)[0]
    assert "Alice" not in harness.fake.replies(board)[0]


async def test_a_redelivered_dm_is_not_answered_twice(harness: Harness) -> None:
    """The core records nothing for "no question is open"; the reply is still sent once."""
    await harness.start(message_content=True)
    daily = await harness.daily()
    dm = harness.fake.open_dm(harness.bob)
    message = await harness.fake.say(dm, harness.bob, "hello?")
    await harness.fake.redeliver_message("MESSAGE_CREATE", message)
    # Bob's events are handled in order: once his thread answer is graded, both DMs were.
    await harness.fake.say(int(daily.message_id), harness.bob, GOOD_ANSWER)
    await eventually(lambda: harness.fake.reactions)
    refusals = [m for m in harness.fake.bot_messages(dm) if "No question is open" in m["content"]]
    assert len(refusals) == 1


async def test_practice_feedback_has_a_select_and_changing_it_is_a_self_check(
    harness: Harness,
) -> None:
    await harness.start()
    dm = harness.fake.open_dm(harness.bob)
    call = await harness.fake.slash(harness.bob, dm, "practice", topic="ml")
    await eventually(lambda: harness.fake.replies(call))
    await harness.fake.say(dm, harness.bob, "overfitting is when the model memorises noise")
    await eventually(lambda: harness.fake.bot_messages(dm))
    await harness.settle()
    feedback = harness.fake.bot_messages(dm)[-1]
    assert "/drill check N" in feedback["content"]
    [row] = feedback["components"]
    [menu] = row["components"]
    assert menu["type"] == 3 and menu["custom_id"].startswith("drill:check:")
    chosen = [o["value"] for o in menu["options"] if o.get("default")]
    added = next(o["value"] for o in menu["options"] if o["value"] not in chosen)
    picked = await harness.fake.select(harness.bob, feedback, menu["custom_id"], [*chosen, added])
    await eventually(lambda: harness.fake.replies(picked))
    reply = as_shown(harness.fake.replies(picked)[0])
    assert "Self-checked" in reply and f"{added}. [x]" in reply
    async with harness.db.read() as conn:
        workspace = await conn.scalar(sa.select(self_checks.c.workspace_id))
    assert workspace == dm_workspace(int(harness.bob["id"]))
