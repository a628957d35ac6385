"""Issue 12, findings 4 and 5: what a user gets when storage fails or their text holds control
characters, on every database backend.

- 4: an answer holding NUL raised on PostgreSQL and the user got nothing. C0 controls (not
  newline or tab) are stripped at intake, and every inbound entry point answers when
  something fails.
- 5: every command recorded an event first, so on a full or read-only disk even `/drill
  history` failed, and an answer sent then was lost without a word. Read-only commands
  record nothing; a refused answer is reported as not saved.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.app import Core
from bot.clock import ManualClock
from bot.domain.types import Actor
from bot.store.tables import answers, users
from testing.fakes import RecordingAdapter
from testing.storage import refuse_writes
from tests.services.test_core import ADMIN, ALICE, CH, answer, first_daily, setup_channel

CONTROLS = (
    "Over\x00fitting\x07 is memorising\x1b noise;\r\nregularisation\tand early stopping help."
)
CLEAN = "Overfitting is memorising noise;\nregularisation\tand early stopping help."


async def _stored(core: Core) -> list[sa.Row[tuple[str, str]]]:
    async with core.db.read() as conn:
        query = sa.select(answers.c.text, users.c.name).join(
            users,
            (users.c.workspace_id == answers.c.workspace_id) & (users.c.id == answers.c.user_id),
        )
        return list((await conn.execute(query)).all())


async def test_finding4_nul_and_other_controls_are_stripped_before_storing(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    named = Actor(ALICE.workspace_id, ALICE.user_id, "Al\x00ice\x1b[31m")
    replies = await core.inbound.on_thread_message(
        event_key="e1", actor=named, channel=CH, thread_id=thread, text=CONTROLS, message_id="m1"
    )
    await core.grading.drain()
    assert not any("failed" in r.text for r in replies)
    assert [(row.text, row.name) for row in await _stored(core)] == [(CLEAN, "Alice[31m")]


async def test_finding4_a_lone_surrogate_is_replaced_not_fatal(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    await first_daily(core, clock, adapter)
    text = "a lone \ud800 surrogate in an answer with enough words"
    await core.inbound.on_loose_message(event_key="e1", actor=ALICE, channel=CH, text=text)
    await core.grading.drain()
    assert [row.text for row in await _stored(core)] == [text.replace("\ud800", "\ufffd")]


async def test_finding5_read_only_commands_work_on_a_read_only_disk(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await answer(core, ALICE, thread, "an answer with quite enough words in it", "e1")
    await refuse_writes(core.db)
    for number, text in enumerate(["help", "history", "streak", "leaderboard", "export"]):
        replies = await core.inbound.command(
            event_key=f"c{number}", actor=ALICE, channel=CH, text=text
        )
        assert replies, text
        assert not any("failed" in r.text.lower() for r in replies), (text, replies)
    history = await core.inbound.command(event_key="c9", actor=ALICE, channel=CH, text="history")
    assert "Your recent answers:" in history[0].text


async def test_finding5_an_answer_refused_by_storage_is_reported_not_saved(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    await refuse_writes(core.db)
    replies = await core.inbound.on_thread_message(
        event_key="e1",
        actor=ALICE,
        channel=CH,
        thread_id=thread,
        text="an answer with quite enough words in it",
        message_id="m1",
    )
    assert [r.text for r in replies] == [
        "That failed: drillbot's database is read-only, so your answer was NOT saved. "
        "Please send it again later."
    ]


async def test_finding4_every_inbound_entry_point_answers_when_storage_fails(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    thread = await first_daily(core, clock, adapter)
    [daily] = await core.store.dailies.posted_in(CH.workspace_id, CH.channel_id)
    await refuse_writes(core.db)
    text = "an answer with quite enough words in it"
    got = {
        "thread": await core.inbound.on_thread_message(
            event_key="e1", actor=ALICE, channel=CH, thread_id=thread, text=text
        ),
        "form": await core.inbound.on_private_answer(
            event_key="e2", actor=ALICE, daily_id=daily.id, text=text
        ),
        "line": await core.inbound.on_loose_message(
            event_key="e3", actor=ALICE, channel=CH, text=text
        ),
        "command": await core.inbound.command(
            event_key="e4", actor=ADMIN, channel=CH, text="pause"
        ),
    }
    for entry, replies in got.items():
        failure = "That failed: drillbot's database is read-only"
        assert len(replies) == 1 and replies[0].text.startswith(failure), (entry, replies)
    assert "NOT saved" in got["line"][0].text
    assert "Nothing was lost: nothing of this message was stored" in got["command"][0].text
    assert await core.inbound.first_time(CH.workspace_id, "reply:e1")  # the reply still goes
