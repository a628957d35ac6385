"""The daily's buttons and the answer form, as components that survive a restart.

A button's custom_id carries its daily id (`drill:answer:12`, `drill:choice:12:B`), and
discord.py rebuilds the button from the id alone (`DynamicItem`), so the buttons of every
daily keep working after a restart without any view being remembered. The form's custom_id
carries the daily id too (`drill:form:12`), and its submission is read by the client's
interaction listener rather than by the `Modal` object, which a restarted process no longer has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol, cast

import discord
from discord import ui

from bot.domain.selfcheck import CheckView
from bot.domain.types import DailyPost
from bot.platforms.common.text import clip

FORM_ID = re.compile(r"drill:form:(?P<daily>\d+)")
ANSWER_FIELD = "answer"
#: Discord's cap on a text input, and the core's cap on an answer.
MAX_ANSWER = 4000
#: Discord's cap on a select option's label; the full key points are in the message above.
MAX_OPTION = 100


class AnswerHandler(Protocol):
    """What the buttons ask of the bridge to the core."""

    async def on_choice(
        self, interaction: discord.Interaction, daily_id: int, letter: str
    ) -> None: ...

    async def on_check(
        self, interaction: discord.Interaction, answer_id: int, covered: list[int]
    ) -> None: ...


class HasBridge(Protocol):
    bridge: AnswerHandler


def _bridge(interaction: discord.Interaction) -> AnswerHandler:
    return cast(HasBridge, interaction.client).bridge


class AnswerButton(ui.DynamicItem[ui.Button[Any]], template=r"drill:answer:(?P<daily>\d+)"):
    """Answer privately: opens the form at once (a modal cannot follow a defer)."""

    def __init__(self, daily_id: int) -> None:
        super().__init__(
            ui.Button(
                label="Answer privately",
                style=discord.ButtonStyle.primary,
                custom_id=f"drill:answer:{daily_id}",
            )
        )
        self.daily_id = daily_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(int(match["daily"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(AnswerForm(self.daily_id))


class ChoiceButton(
    ui.DynamicItem[ui.Button[Any]], template=r"drill:choice:(?P<daily>\d+):(?P<letter>[A-Z])"
):
    """One letter of an MCQ daily; the first click of a user counts."""

    def __init__(self, daily_id: int, letter: str) -> None:
        super().__init__(
            ui.Button(
                label=letter,
                style=discord.ButtonStyle.secondary,
                custom_id=f"drill:choice:{daily_id}:{letter}",
            )
        )
        self.daily_id = daily_id
        self.letter = letter

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> ChoiceButton:
        return cls(int(match["daily"]), match["letter"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _bridge(interaction).on_choice(interaction, self.daily_id, self.letter)


class CheckSelect(ui.DynamicItem[ui.Select[Any]], template=r"drill:check:(?P<answer>\d+)"):
    """A self-check: the key points of a practice or mock grade, selected where they count
    as covered now; changing the selection flips them (docs/design.md "Grades"). Rebuilt from
    its custom_id after a restart; the selected values come with the interaction."""

    def __init__(self, answer_id: int, check: CheckView | None = None) -> None:
        marks = check.marks if check else ()
        super().__init__(
            ui.Select(
                custom_id=f"drill:check:{answer_id}",
                placeholder="Key points you covered",
                min_values=0,
                max_values=max(1, len(marks)),
                options=[
                    discord.SelectOption(
                        label=clip(f"{m.number}. {m.text}", MAX_OPTION),
                        value=str(m.number),
                        default=m.learner == 1.0,
                    )
                    for m in marks
                ]
                or [discord.SelectOption(label="-", value="0")],
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> CheckSelect:
        return cls(int(match["answer"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        data = cast(dict[str, Any], interaction.data or {})
        covered = [int(v) for v in data.get("values", []) if str(v).isdecimal()]
        await _bridge(interaction).on_check(interaction, self.answer_id, covered)


def check_view(check: CheckView | None) -> ui.View | None:
    """The self-check select under a grade's feedback (None when there is nothing to check)."""
    if check is None or not check.marks:
        return None
    view = ui.View(timeout=None)
    view.add_item(CheckSelect(check.answer_id, check))
    return view


class AnswerForm(ui.Modal):
    """The private answer form. Its submission is handled by `form_submission` in the
    interaction listener, which also works for a form opened before a restart."""

    answer: ui.TextInput[AnswerForm] = ui.TextInput(
        label="Your answer",
        style=discord.TextStyle.paragraph,
        custom_id=ANSWER_FIELD,
        max_length=MAX_ANSWER,
    )

    def __init__(self, daily_id: int) -> None:
        # Opened forms expire with the interaction token; the listener does not need them.
        super().__init__(title="Answer privately", custom_id=f"drill:form:{daily_id}", timeout=900)


def daily_view(post: DailyPost) -> ui.View:
    """The buttons under a daily: the letters of an MCQ, else Answer privately."""
    view = ui.View(timeout=None)
    question = post.question
    if question.type == "mcq":
        for letter in question.letters:
            view.add_item(ChoiceButton(post.daily_id, letter))
    else:
        view.add_item(AnswerButton(post.daily_id))
    return view


def form_submission(interaction: discord.Interaction) -> tuple[int, str] | None:
    """(daily id, answer text) of a submitted answer form; None for any other interaction."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data = cast(dict[str, Any], interaction.data or {})
    match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return None
    fields = _walk(data.get("components", []))
    text = next((c.get("value", "") for c in fields if c.get("custom_id") == ANSWER_FIELD), "")
    return int(match["daily"]), str(text)


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component of a submission, through action rows and labels."""
    for component in components:
        yield component
        yield from _walk(component.get("components", []))
        if "component" in component:
            yield from _walk([component["component"]])
