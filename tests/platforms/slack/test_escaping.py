"""Issue 12, finding 10 on Slack: every name and all grader (LLM) text reach Slack escaped for
mrkdwn (no `<!channel>`, no `<@U…>`, no `<url|label>`), and masked links are removed from the
grader's text."""

from __future__ import annotations

import json

from bot.app import build_core
from bot.clock import ManualClock
from bot.domain.types import ChannelRef
from bot.packs import Bank
from bot.store.db import Database
from testing.fake_openai import FakeModel
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory

EVIL_NAME = "<!channel> [free nitro](https://evil.example/nitro) <https://evil.example|docs>"
QUESTION = "react-lifecycle"
EVIL_FEEDBACK = "Read [the docs](https://evil.example/steal), ask <!here> or <@U2>."


async def test_finding10_names_and_grader_text_are_escaped_on_slack(
    slack: Factory, db: Database, bank: Bank, clock: ManualClock
) -> None:
    model = FakeModel()  # grades honestly, writes the steered feedback
    model.feedback = EVIL_FEEDBACK
    chosen = bank.get(QUESTION)  # its reference answer covers every key point
    assert chosen is not None
    open_bank = Bank({chosen.id: chosen}, bank.topics)
    core = build_core(db=db, bank=open_bank, grader=model.grader(), clock=clock)
    h = await slack(core=core)
    h.fake.add_user("T1", "UEVIL", EVIL_NAME)
    daily = await h.daily("T1", "C1")
    question = open_bank.get(daily.question_id)
    assert question is not None and question.reference_answer
    answer = question.reference_answer
    ts = h.next_ts()
    await h.event(p.thread_reply("T1", "C1", "UEVIL", daily.message_id, ts, answer, h.next_id()))
    [feedback] = await eventually(lambda: h.fake.ephemerals("T1", "UEVIL"))
    shown = feedback["text"] + json.dumps(feedback["blocks"])
    assert "the docs" in shown and "evil.example" not in shown
    assert "<!here>" not in shown and "<@U2>" not in shown and "&lt;!here&gt;" in shown

    assert await core.dailies.close_due(ChannelRef("T1", "C1"), force=True) == 1
    [reveal] = [m for m in h.fake.posts("T1", "C1") if m.get("thread_ts") == daily.message_id]
    text = json.dumps(reveal["blocks"], ensure_ascii=False).replace("@\u2060", "@")
    assert "1. &lt;!channel&gt; free nitro &lt;https://evil.example|docs&gt; (" in text
    assert "<!channel>" not in text and "<https://evil" not in text
