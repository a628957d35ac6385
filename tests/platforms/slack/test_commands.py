"""`/drill` through the real AsyncApp: acked at once, answered through the response URL."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bot.platforms.slack import blocks
from bot.store.tables import self_checks
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory


async def test_help_is_answered_privately_through_the_response_url(slack: Factory) -> None:
    h = await slack()
    sent = await h.command("T1", "C1", "U1", "help")
    assert sent.status == 200 and sent.text == ""
    [response] = await eventually(lambda: h.fake.responses)
    assert response["response_type"] == "ephemeral"
    assert "/drill leaderboard" in response["text"]
    assert response["key"].startswith("trig")


async def test_admin_commands_are_refused_to_members(slack: Factory) -> None:
    h = await slack()
    await h.command("T1", "C1", "U1", "schedule 0 9 * * MON-FRI")
    [response] = await eventually(lambda: h.fake.responses)
    assert "is for workspace admins" in response["text"]
    assert await h.core.store.tenancy.channel("T1", "C1") is None


async def test_workspace_admins_and_drillbot_admins_may_schedule(slack: Factory) -> None:
    """UADMIN is a Slack admin (users.info); `boss` is in the core's DRILLBOT_ADMINS."""
    h = await slack()
    h.fake.add_user("T1", "boss", "Boss")
    await h.command("T1", "C1", "UADMIN", "schedule 0 9 * * MON-FRI tz=Europe/Berlin")
    await h.command("T1", "C2", "boss", "schedule 30 8 * * * feedback=thread")
    await eventually(lambda: len(h.fake.responses) == 2)
    first = await h.core.store.tenancy.channel("T1", "C1")
    second = await h.core.store.tenancy.channel("T1", "C2")
    assert first and (first.cron, first.timezone, first.name) == (
        "0 9 * * MON-FRI",
        "Europe/Berlin",
        "random",
    )
    assert second and (second.cron, second.feedback) == ("30 8 * * *", "thread")
    assert [u["user"] for u in h.fake.called("users.info")].count("UADMIN") == 1


async def test_malformed_commands_get_usage_not_a_stack_trace(slack: Factory) -> None:
    h = await slack()
    await h.command("T1", "C1", "U1", "leaderboard sideways")
    [response] = await eventually(lambda: h.fake.responses)
    assert "unknown leaderboard option" in response["text"]


async def test_practice_continues_in_a_dm_and_a_plain_dm_answers_it(slack: Factory) -> None:
    h = await slack()
    await h.command("T1", "C1", "U1", "practice")
    [response] = await eventually(lambda: h.fake.responses)
    assert "sent you a DM" in response["text"]
    [question] = h.fake.posts("T1", "DU1")
    assert question["text"].startswith("Practice")
    answer = p.channel_message(
        "T1",
        "DU1",
        "U1",
        h.next_ts(),
        "my practice answer with some words",
        h.next_id(),
        channel_type="im",
    )
    assert (await h.event(answer)).status == 200
    await eventually(lambda: len(h.fake.posts("T1", "DU1")) == 2)
    await h.core.grading.drain()
    feedback = h.fake.posts("T1", "DU1")[-1]["text"]
    assert "/10" in feedback
    assert h.fake.called("chat.postEphemeral") == []


async def test_post_now_and_close_now_post_the_daily_and_its_reveal(slack: Factory) -> None:
    h = await slack()
    await h.command("T1", "C1", "UADMIN", "post-now")
    [daily] = await eventually(lambda: h.fake.posts("T1", "C1"))
    await h.command("T1", "C1", "UADMIN", "close-now")
    await eventually(lambda: len(h.fake.posts("T1", "C1")) == 2)
    reveal = h.fake.posts("T1", "C1")[1]
    assert reveal["thread_ts"] == daily["ts"] and "Answers are closed" in reveal["text"]


async def test_export_arrives_as_a_file_in_the_users_dm(slack: Factory) -> None:
    """files_upload_v2 end to end: upload URL, the bytes, then completeUploadExternal."""
    h = await slack()
    await h.command("T1", "C1", "U1", "export")
    [response] = await eventually(lambda: h.fake.responses)
    assert "Your data:" in response["text"]
    [(file_id, data)] = h.fake.uploads.items()
    exported = json.loads(data)
    assert (exported["workspace_id"], exported["user_id"]) == ("T1", "U1")
    shared = h.fake.files[file_id]
    assert (shared["channel"], shared["name"]) == ("DU1", "drillbot-export-T1-U1.json")


async def test_practice_feedback_has_checkboxes_and_ticking_one_is_a_self_check(
    slack: Factory,
) -> None:
    h = await slack()
    await h.command("T1", "C1", "U1", "practice")
    await eventually(lambda: h.fake.posts("T1", "DU1"))
    answer = p.channel_message(
        "T1",
        "DU1",
        "U1",
        h.next_ts(),
        "my practice answer in a few words",
        h.next_id(),
        channel_type="im",
    )
    assert (await h.event(answer)).status == 200
    await eventually(lambda: len(h.fake.posts("T1", "DU1")) == 2)
    await h.core.grading.drain()
    feedback = h.fake.posts("T1", "DU1")[-1]
    posted = feedback["blocks"]
    posted = json.loads(posted) if isinstance(posted, str) else posted
    [group] = posted[-1]["elements"]
    assert group["type"] == "checkboxes" and group["action_id"] == blocks.CHECK_ACTION
    assert any("/drill check N" in b.get("text", {}).get("text", "") for b in posted)
    ticked = {o["value"] for o in group.get("initial_options", [])}
    unticked = next(o for o in group["options"] if o["value"] not in ticked)
    click = p.block_action("T1", "DU1", "U1", feedback["ts"], blocks.CHECK_ACTION, "", "trig-c1")
    click["actions"][0] = {
        "type": "checkboxes",
        "action_id": blocks.CHECK_ACTION,
        "block_id": posted[-1]["block_id"],
        "selected_options": [*group.get("initial_options", []), unticked],
        "action_ts": "1800000000.000001",
    }
    assert (await h.interaction(click)).status == 200  # a signed request into the Bolt app
    reply = await eventually(
        lambda: [m for m in h.fake.posts("T1", "DU1") if "Self-checked" in m["text"]]
    )
    assert f"{unticked['value']}. [x]" in json.dumps(reply[-1]["blocks"])
    async with h.core.db.read() as conn:
        marks = await conn.scalar(sa.select(self_checks.c.marks))
    flipped = [m for m in marks if m["learner"] != m["grader"]]
    assert len(flipped) == 1 and flipped[0]["learner"] == 1.0
