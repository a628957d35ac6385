"""The bad-input audit (research matrix §5.3) against the console: each input gets a clear
answer and loses nothing. Run with `make audit` (marker `audit`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import Core
from bot.domain.text import clean_text
from bot.platforms.console.service import CHANNEL, WORKSPACE, ConsoleAdapter, ConsoleSession
from bot.store.tables import answers, channels

pytestmark = pytest.mark.audit


class Console:
    """A console session on the test's core, its output kept."""

    def __init__(self, core: Core, files: Path) -> None:
        self.core = core
        self.out = io.StringIO()
        adapter = ConsoleAdapter(out=self.out, files=files)
        core.platforms.attach(adapter)
        self.session = ConsoleSession(adapter, core.inbound)

    async def start(self) -> None:
        await self.core.inbound.ensure_workspace(WORKSPACE, "console", "local")
        await self.core.inbound.ensure_channel(CHANNEL, name="console")

    async def say(self, line: str) -> str:
        """Send one line; what the console printed for it."""
        before = len(self.out.getvalue())
        assert await self.session.handle_line(line)
        await self.core.grading.drain()
        return self.out.getvalue()[before:]

    async def stored(self) -> list[sa.Row[tuple[str, str, int | None, str | None, str]]]:
        async with self.core.db.read() as conn:
            query = sa.select(
                answers.c.user_id,
                answers.c.text,
                answers.c.score,
                answers.c.floor,
                answers.c.status,
            ).order_by(
                answers.c.id
            )
            return list((await conn.execute(query)).all())


@pytest.fixture
async def console(core: Core, tmp_path: Path) -> Console:
    started = Console(core, tmp_path)
    await started.start()
    return started


async def test_B2_null_model_answers_get_a_clear_answer_and_a_bounded_score(
    console: Console,
) -> None:
    """Non-answers: each is answered and stored; a floored one (docs/design.md "A non-answer
    earns nothing") is never graded and says so, the rest score in the "needs work" band; an
    oversize one is refused politely and nothing of it is stored."""
    await console.say("/drill post-now")
    [daily] = await console.core.store.dailies.posted_in(WORKSPACE, CHANNEL.channel_id)
    question = console.core.bank.get(daily.question_id)
    assert question is not None
    inputs = {
        "na": "N/A",
        "shrug": "🤷",
        "copy": question.prompt,
        "lorem": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.",
    }
    for user, text in inputs.items():
        await console.say(f"/as {user}")
        shown = await console.say(text)
        assert f"[to {user}] Your answer to" in shown or "It earns nothing" in shown, (user, shown)
    await console.say("/as huge")
    refused = await console.say("a" * 40_000)
    assert "That answer is 40000 characters; the limit is 4000." in refused
    assert "Traceback" not in refused
    stored = {row.user_id: row for row in await console.stored()}
    assert sorted(stored) == sorted(inputs)  # every non-answer kept, the oversize one not
    for user, row in stored.items():
        assert row.text == inputs[user].strip()
        if row.floor is not None:
            assert (row.status, row.score) == ("floored", None), user
        else:
            assert row.score is not None and row.score <= 3, (user, row.score)
    assert {stored[u].floor for u in ("na", "shrug", "copy")} == {"non_answer", "blank", "copy"}


TRICKY = {
    "rtl": "right\u202eto left override answer",
    "zero-width": "zero\u200bwidth\u200c join\u200d chars\ufeff inside",
    "combining": "Z\u0351\u0334a\u0336\u0353l\u0337go combining marks",
    "zwj-emoji": "family 👨\u200d👩\u200d👧\u200d👦 and flags 🏳\ufe0f\u200d🌈",
    "nul": "before\x00after with a NUL byte",
    "mentions": "<!channel> <@U123> @everyone @here <#C1>",
    "links": "[click](https://evil.example) <https://evil.example|docs>",
    "escapes": "\x1b[2J\x1b]0;title\x07 terminal escapes",
}


async def test_B4_unicode_and_markup_are_stored_losslessly_and_shown_inert(
    console: Console,
) -> None:
    await console.say("/drill post-now")
    for user, text in TRICKY.items():
        await console.say(f"/as {user}")
        shown = await console.say(f"{text} — and enough plain words to be an answer")
        assert f"[to {user}] Your answer to" in shown, (user, shown)
        assert "\x1b" not in shown and "\u202e" not in shown
    stored = {row.user_id: row.text for row in await console.stored()}
    for user, text in TRICKY.items():
        expected = clean_text(f"{text} — and enough plain words to be an answer")
        assert stored[user] == expected, user  # lossless but for the C0 controls
    assert "\x00" not in "".join(stored.values())


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/drill schedule 0 9 * * * tz=Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("/drill schedule 0 9 * * * tz=UTC+25", "unknown timezone 'UTC+25'"),
        ("/drill schedule 0 25 * * *", "hour: 25 is outside 0-23"),
        ("/drill schedule 60 9 * * *", "minute: 60 is outside 0-59"),
        ("/drill schedule 25:00", "a schedule is 5 cron fields"),
        ("/drill schedule 09:60", "a schedule is 5 cron fields"),
        ("/drill schedule", "a schedule is 5 cron fields"),
        ("/drill schedule 0 0-9 * * *", "10 slots a day; at most 3"),
        ("/drill schedule 0 9 31 2 *", "has no slot in"),
        ("/drill schedule 0 ⁹ * * *", "is not a number (0-9) or a name"),
    ],
)
async def test_B8_bad_schedules_are_refused_and_nothing_is_saved(
    console: Console, command: str, says: str
) -> None:
    async def channel_row() -> dict[str, object]:
        async with console.core.db.read() as conn:
            row = (await conn.execute(sa.select(channels))).one()
        return dict(row._mapping)

    before = await channel_row()
    shown = await console.say(command)
    assert says in shown, shown
    assert await channel_row() == before
