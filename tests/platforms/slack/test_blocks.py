"""Block Kit rendering: escaping, no mass mentions, Slack's size limits, local times."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.types import ChannelRef, DailyPost, Reveal, TopAnswer
from bot.packs import Bank
from bot.platforms.common.text import slack_escape, slack_escape_clipped
from bot.platforms.slack import blocks

HOSTILE = "<!channel> <!here|here> @everyone <@U123> <https://evil.example|click> & done"


def test_user_text_can_form_no_markup_or_mass_mention() -> None:
    text = slack_escape(HOSTILE)
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&amp; done" in text
    assert "@everyone" not in text and "@\u2060everyone" in text
    assert slack_escape("mail me @ home, @channelled") == "mail me @ home, @channelled"


def test_sections_respect_3000_characters_and_the_block_budget() -> None:
    text = "\n".join(["word " * 150] * 60)  # ~45,000 characters
    made = blocks.sections(text, 10)
    assert len(made) == 10
    assert all(len(b["text"]["text"]) <= blocks.MAX_SECTION for b in made)
    assert made[-1]["text"]["text"].endswith("_(cut)_")
    assert [b["text"]["text"] for b in blocks.sections("x" * 7000, 50)] == [
        "x" * 3000,
        "x" * 3000,
        "x" * 1000,
    ]


def test_a_daily_shows_topic_difficulty_local_close_time_and_the_button(bank: Bank) -> None:
    question = next(q for q in bank if q.type == "open")
    closes = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    post = DailyPost(
        7,
        ChannelRef("T1", "C1"),
        question.model_copy(update={"prompt": question.prompt + " " + HOSTILE + " y" * 4000}),
        closes,
        False,
        "Reply in the thread.",
    )
    message = blocks.daily_message(post)
    assert len(message.blocks) <= blocks.MAX_BLOCKS
    assert question.topic in message.blocks[0]["text"]["text"]
    rendered = str(message.blocks)
    assert f"<!date^{int(closes.timestamp())}^" in rendered and "2026-11-24 09:00 UTC" in rendered
    assert "<!channel>" not in rendered and "<@U123>" not in rendered
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == blocks.ANSWER_ACTION
    assert actions["elements"][0]["value"] == "7"
    assert len(message.text) <= blocks.MAX_FALLBACK


def test_an_mcq_daily_offers_its_choices_as_buttons(bank: Bank) -> None:
    question = next(q for q in bank if q.type == "mcq")
    post = DailyPost(3, ChannelRef("T1", "C1"), question, datetime.now(UTC), True, "Pick one.")
    message = blocks.daily_message(post)
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == [f"3:{x}" for x in question.letters]
    assert message.blocks[0]["text"]["text"].startswith("Extra question")


def test_a_reveal_escapes_the_names_and_answers_it_shows(bank: Bank) -> None:
    question = next(q for q in bank if q.type == "open")
    reveal = Reveal(
        1, ChannelRef("T1", "C1"), "1.1", question, 2, [TopAnswer("<!here>", 9, HOSTILE)], pending=1
    )
    rendered = str(blocks.reveal_message(reveal).blocks)
    assert "<!here>" not in rendered and "<!channel>" not in rendered
    assert "still being graded" in rendered


def test_the_modal_keeps_its_context_and_limits_the_answer(bank: Bank) -> None:
    question = next(q for q in bank if q.type == "open")
    where = blocks.ModalContext(5, "C1", "1700000000.000100")
    view = blocks.answer_modal(question, where)
    assert blocks.ModalContext.load(view["private_metadata"]) == where
    assert len(view["title"]["text"]) <= 24
    assert view["blocks"][-1]["element"]["max_length"] == 4000


def test_clipping_never_splits_an_entity() -> None:
    assert slack_escape_clipped("ab&", 7) == "ab&amp;"
    assert slack_escape_clipped("ab&", 4) == "ab…"
    assert slack_escape_clipped("abcd&efgh", 6) == "abcd…"
