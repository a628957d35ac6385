"""The bad-input audit (research matrix §5.3) against the real Slack app and the fake Slack:
each input gets a clear answer and loses nothing. Run with `make audit` (marker `audit`)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.domain.text import clean_text
from bot.packs import Bank
from bot.store.db import Database
from bot.store.tables import answers, channels
from testing.fake_openai import FakeModel
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.console.test_audit_bad_input import TRICKY
from tests.platforms.slack.conftest import Factory, Harness

pytestmark = pytest.mark.audit

WORDS = "a hash index serves point lookups and a b-tree serves ranges"
#: What must never reach Slack raw from user or model text: it would notify or link.
LIVE = ("<!channel>", "<!here>", "<@U123>", "<https://evil", "<#C1>")


async def _stored(core: Core, team: str = "T1") -> dict[str, sa.Row[Any]]:
    async with core.db.read() as conn:
        rows = await conn.execute(sa.select(answers).where(answers.c.workspace_id == team))
        return {row.user_id: row for row in rows}


def _everything_sent(h: Harness) -> str:
    """Every payload the app sent to Slack's Web API and response URLs."""
    calls = [
        c for method in ("chat.postMessage", "chat.postEphemeral") for c in h.fake.called(method)
    ]
    return json.dumps([*calls, *h.fake.responses], ensure_ascii=False)


async def test_B4_unicode_and_markup_are_stored_losslessly_and_never_echo_live(
    slack: Factory,
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    reference = h.core.bank.get(daily.question_id).reference_answer
    # Mentions and links first: the reveal echoes the first (best, earliest) three answers.
    order = ["mentions", "links", *(k for k in TRICKY if k not in ("mentions", "links"))]
    users = {}
    for number, kind in enumerate(order):
        user = f"UX{number}"
        h.fake.add_user("T1", user, f"{TRICKY[kind][:24]} {kind}")  # names carry it too
        users[user] = f"{TRICKY[kind]} {reference}"
        sent = await h.event(
            p.thread_reply(
                "T1", "C1", user, daily.message_id, h.next_ts(), users[user], h.next_id()
            )
        )
        assert sent.status == 200
    await eventually(lambda: len(h.fake.ephemerals("T1")) >= len(users))
    await h.core.grading.drain()
    stored = await _stored(h.core)
    assert {u: row.text for u, row in stored.items()} == {
        u: clean_text(text) for u, text in users.items()
    }
    assert {row.status for row in stored.values()} == {"graded"}
    await h.command("T1", "C1", "UADMIN", "close-now")
    await eventually(lambda: len(h.fake.posts("T1", "C1")) >= 2)  # the daily and its reveal
    sent = _everything_sent(h)
    # The reveal echoes names and answers, escaped (a word joiner after each @).
    assert "1. &lt;!channel&gt; &lt;@\u2060U123&gt;" in sent
    assert "&lt;https://evil.example|docs&gt;" in sent
    for live in LIVE:
        assert live not in sent, live


async def test_B5_a_50000_character_answer_is_refused_politely_and_nothing_stored(
    slack: Factory,
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    huge = ("word " * 10_000).strip()
    await h.event(
        p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), huge, h.next_id())
    )
    [refusal] = await eventually(lambda: h.fake.ephemerals("T1", "U1"))
    assert "the limit is 4000" in refusal["text"] and "send it again" in refusal["text"]
    assert await _stored(h.core) == {}


async def test_B5_long_model_feedback_stays_within_slack_limits(
    slack: Factory, db: Database, bank: Bank, clock: ManualClock
) -> None:
    model = FakeModel()
    model.feedback = " ".join(f"sentence{n} of a very long feedback." for n in range(300))
    open_bank = Bank({q.id: q for q in bank.open_questions()}, bank.topics)  # MCQ: no feedback
    core = build_core(db=db, bank=open_bank, grader=model.grader(), clock=clock)
    h = await slack(core=core)
    daily = await h.daily("T1", "C1")
    await h.event(
        p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), WORDS, h.next_id())
    )

    async def graded() -> bool:
        # The reply is handled after its ack: wait for it to be stored, then graded.
        await core.grading.drain()
        row = (await _stored(core)).get("U1")
        return row is not None and row.status == "graded"

    await eventually(graded, within=30)
    [feedback] = await eventually(lambda: h.fake.ephemerals("T1", "U1"), within=30)
    assert len(feedback["blocks"]) <= 50
    for block in feedback["blocks"]:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000
    assert "sentence0 of a very long feedback." in json.dumps(feedback["blocks"])


async def test_B6_every_bad_signature_gets_401_and_writes_nothing(
    slack: Factory, writes: list[str]
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    writes.clear()
    event = p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), WORDS, h.next_id())
    body, kind = p.json_body(event)
    other, _ = p.json_body({**event, "event_id": "EvOther"})
    now = int(time.time())
    reserialised = json.dumps(event, indent=1)
    cases = {
        "no headers": ({"Content-Type": kind}, body),
        "no timestamp": (
            {k: v for k, v in p.signed_headers(body, kind).items() if "Timestamp" not in k},
            body,
        ),
        "no signature": (
            {k: v for k, v in p.signed_headers(body, kind).items() if "Signature" not in k},
            body,
        ),
        "wrong secret": (p.signed_headers(body, kind, secret="not-the-secret"), body),
        "6 min old": (p.signed_headers(body, kind, timestamp=now - 6 * 60), body),
        "6 min ahead": (p.signed_headers(body, kind, timestamp=now + 6 * 60), body),
        "other body": (p.signed_headers(other, kind), body),
        "re-serialised": (p.signed_headers(body, kind), reserialised),
    }
    for name, (headers, sent_body) in cases.items():
        sent = await h.send((sent_body, kind), headers, signed=False)
        assert sent.status == 401, name
    assert writes == []
    await h.core.grading.drain()
    assert await _stored(h.core) == {}
    assert (await h.event(event)).status == 200  # the genuine one is taken
    await eventually(lambda: h.fake.ephemerals("T1", "U1"))


async def test_B7_another_team_cannot_answer_read_or_administer_this_one(
    slack: Factory,
) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    await h.event(
        p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), WORDS, h.next_id())
    )
    await eventually(lambda: h.fake.ephemerals("T1", "U1"))
    await h.core.grading.drain()
    # Team T2's event naming T1's channel and daily thread: not an answer to it.
    await h.event(
        p.thread_reply("T2", "C1", "U2", daily.message_id, h.next_ts(), WORDS, h.next_id())
    )
    await h.core.grading.drain()
    assert list(await _stored(h.core, "T2")) == []
    assert list(await _stored(h.core, "T1")) == ["U1"]
    # T2's board shows nothing of T1.
    await h.command("T2", "C1", "U2", "leaderboard all workspace")
    [board] = await eventually(lambda: h.fake.responses)
    assert "Uma of T1" not in board["text"] and "U1" not in board["text"]
    # A member who is no admin cannot pause; nothing changes.
    await h.command("T1", "C1", "U1", "pause")
    refused = await eventually(lambda: h.fake.responses[1:])
    assert "is for workspace admins" in refused[0]["text"]
    async with h.core.db.read() as conn:
        paused = await conn.scalar(
            sa.select(channels.c.paused).where(
                channels.c.workspace_id == "T1", channels.c.id == "C1"
            )
        )
    assert paused is False
