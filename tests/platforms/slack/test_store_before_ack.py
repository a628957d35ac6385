"""Finding 2a and fault F4 in-process: Slack sees its acknowledgement only after the answer is
committed, for every kind of answer, and a database held by another writer delays no ack
past 3 seconds and loses nothing (the unacknowledged delivery is redelivered, as Slack does).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from bot.app import Core, build_core
from bot.store.tables import answers, events, grades, users
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory
from tests.platforms.slack.test_interactions import _open_modal, _StuckGrader

pytestmark = pytest.mark.audit

ANSWER = "A B-tree keeps keys sorted, so it serves range scans; a hash index only equality."


async def _stored(core: Core) -> dict[tuple[str, str], sa.Row]:
    """Answers by (user, source), read the instant the ack is in."""
    async with core.db.read() as conn:
        rows = await conn.execute(sa.select(answers))
        return {(r.user_id, r.source): r for r in rows}


async def test_every_answer_kind_is_committed_when_its_ack_returns(
    slack: Factory, core: Core
) -> None:
    stuck = _StuckGrader()  # grading waits: what is stored at the ack was stored before it
    held = build_core(db=core.db, bank=core.bank, grader=stuck, clock=core.clock)
    h = await slack(core=held)
    daily = await h.daily("T1", "C1")
    ts = h.next_ts()
    reply = p.thread_reply("T1", "C1", "U1", daily.message_id, ts, "first words", h.next_id())
    assert (await h.event(reply)).status == 200
    assert (await _stored(h.core))[("U1", "thread")].text == "first words"

    edit = p.message_changed(
        "T1", "C1", "U1", daily.message_id, ts, h.next_ts(), ANSWER, h.next_id()
    )
    assert (await h.event(edit)).status == 200
    assert (await _stored(h.core))[("U1", "thread")].text == ANSWER

    view = await _open_modal(h, daily.message_id, daily.id, "U2")
    assert (await h.interaction(p.view_submission("T1", "U2", view, ANSWER, "V1"))).status == 200
    assert (await _stored(h.core))[("U2", "form")].status == "pending"

    await h.command("T1", "C1", "UADMIN", "practice")
    await eventually(lambda: h.fake.posts("T1", "DUADMIN"))
    dm = p.channel_message("T1", "DUADMIN", "UADMIN", h.next_ts(), ANSWER, h.next_id(), "im")
    assert (await h.event(dm)).status == 200
    assert (await _stored(h.core))[("UADMIN", "dm")].status == "pending"
    stuck.release.set()
    await h.core.grading.drain()


async def test_an_mcq_click_is_committed_when_its_ack_returns(
    slack: Factory, mcq_core: Core
) -> None:
    h = await slack(core=mcq_core)
    daily = await h.daily("T1", "C1")
    letter = h.core.bank.get(daily.question_id).letters[0]
    click = p.choice_click("T1", "C1", "U1", daily.message_id, daily.id, letter,
                           h.next_id("trig"))
    assert (await h.interaction(click)).status == 200
    assert (await _stored(h.core))[("U1", "choice")].text == letter
    await h.core.grading.drain()


def _hold_write_lock(path: str, seconds: float, held: threading.Event) -> None:
    """Another process's writer: BEGIN EXCLUSIVE on the file for `seconds`."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.mark.usefixtures("sqlite_only")
async def test_a_held_write_lock_delays_no_ack_and_loses_nothing(
    slack: Factory, core: Core
) -> None:
    """F4, shortened: the lock is held 6 s (past the 5 s busy timeout, so the blocked writes
    fail and roll back) instead of 10 s. Every response comes within 3 s; a delivery whose
    answer could not be committed gets a 500 (no ack), and Slack's redelivery after the lock
    stores it once."""
    h = await slack()
    daily = await h.daily("T1", "C1")
    path = str(core.db.engine.url.database)
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 6.0, held))
    holder.start()
    await asyncio.to_thread(held.wait, 10)
    bodies = [
        p.thread_reply(
            "T1", "C1", f"U{n}", daily.message_id, h.next_ts(), f"{ANSWER} {n}", h.next_id()
        )
        for n in range(1, 3)
    ]
    during = await asyncio.gather(*(h.event(body) for body in bodies))
    await asyncio.to_thread(holder.join)
    assert all(sent.seconds < 3.0 for sent in during)
    assert {sent.status for sent in during} == {500}  # not committed in time: not acked
    for body, sent in zip(bodies, during, strict=True):
        if sent.status != 200:  # Slack redelivers what it did not see acknowledged
            assert (await h.event(body, **{"X-Slack-Retry-Num": "1"})).status == 200
    await h.core.grading.drain()
    await eventually(lambda: len(h.fake.ephemerals("T1")) == 2, within=10)
    async with core.db.read() as conn:
        stored = list(await conn.execute(sa.select(answers)))
        graded = list(await conn.execute(sa.select(grades.c.answer_id)))
        keys = list(await conn.execute(sa.select(events.c.key)))
        people = {r.id for r in await conn.execute(sa.select(users))}
    # nothing half-written: each answer once, with its user, its event key and one grade
    assert sorted(r.user_id for r in stored) == ["U1", "U2"]
    assert {r.user_id for r in stored} <= people
    assert sorted(g.answer_id for g in graded) == sorted(r.id for r in stored)
    assert len([k for k in keys if k.key.startswith("slack:C1:")]) == 2
