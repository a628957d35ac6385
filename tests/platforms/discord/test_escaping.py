"""Issue 12, finding 10 on Discord: a display name with a masked link rendered as a link in
the public reveal, and grader (LLM) feedback with `[the docs](https://evil…)` was sent as a
link. Names and grader text are escaped and masked links removed from the core's text."""

from __future__ import annotations

from bot.app import Core, build_core
from bot.packs import Bank
from testing.fake_openai import FakeModel
from testing.polling import eventually
from tests.platforms.discord.conftest import GOOD_ANSWER, OPEN, Harness

EVIL_NAME = "[free nitro](https://evil.example/nitro) @everyone"
EVIL_FEEDBACK = (
    "Read [the docs](https://evil.example/steal), ask <@&1> and **[this](<https://e.vil>)**."
)


def _llm_core(h: Harness, bank: Bank) -> Core:
    """A core whose LLM grades honestly but writes the steered feedback."""
    model = FakeModel()
    model.feedback = EVIL_FEEDBACK
    return build_core(db=h.db, bank=bank, grader=model.grader(), clock=h.clock)


def _no_live_link(text: str) -> bool:
    """No markdown link Discord would render (an escaped bracket is shown as text)."""
    return "](http" not in text.replace("\\](", "]\\(") and "](<http" not in text


async def test_finding10_names_and_grader_text_are_escaped_on_discord(
    harness: Harness, discord_bank: Bank
) -> None:
    harness.core = _llm_core(harness, discord_bank)
    harness.alice["global_name"] = EVIL_NAME
    await harness.start()
    daily = await harness.daily(OPEN)
    submit = await harness.fake.submit(
        harness.alice, harness.daily_message(daily), f"drill:form:{daily.id}", GOOD_ANSWER
    )
    feedback = await eventually(lambda: [t for t in harness.fake.replies(submit) if "/10" in t])
    text = feedback[0]
    assert "the docs" in text and "evil.example" not in text and "e.vil" not in text
    assert "<@&" not in text.replace("<@\u200b&", "")
    assert _no_live_link(text)

    assert await harness.core.dailies.close_due(harness.ref, force=True) == 1
    reveal = harness.fake.bot_messages(int(daily.message_id))[0]["embeds"][0]["description"]
    assert "free nitro" in reveal
    assert _no_live_link(reveal), reveal
    assert "@everyone" not in reveal.replace("@\u200beveryone", "")
