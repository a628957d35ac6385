"""The `/drill` app-command group, built from the core's command specs.

Each spec of `bot.domain.commands.SPECS` becomes a subcommand with the spec's summary. Its
options are typed here only where Discord can help (choices, autocomplete); whatever the user
picks is turned back into the text form the core parses (`leaderboard month workspace`), so
the core's single parser checks everything. A spec without a typed option table that takes
arguments gets one free-text option, so a new core command appears on Discord unchanged.

Admin subcommands are visible to everyone: Discord applies default member permissions to a
whole top-level command, not to subcommands, so the core refuses non-admins itself, from the
Manage Server permission the bridge reads off the interaction.
"""

from __future__ import annotations

import inspect
import shlex
import zoneinfo
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

import discord
from discord import app_commands

from bot.domain.commands import (
    BOARDS,
    DIFFICULTIES,
    FEEDBACK_MODES,
    MOCK_MAX,
    MOCK_WORDS,
    ON_OFF,
    SCOPES,
    SPECS,
    Spec,
)
from bot.domain.fairboards import KINDS
from bot.platforms.common.text import clip

#: Discord shows at most 25 autocomplete suggestions.
MAX_SUGGESTIONS = 25
#: Discord's cap on a command or option description.
DESCRIPTION_LIMIT = 100
#: How an option's value goes back into the command text.
Form = Literal["word", "key", "raw"]
Completion = Literal["topic", "topics", "timezone", "command"]


@dataclass(frozen=True)
class Option:
    """One option of a subcommand. `form` says how its value is written back: `word` as one
    quoted word, `key` as `name=value`, `raw` as typed (several words, like a cron spec)."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    complete: Completion | None = None
    required: bool = False
    form: Form = "word"


_SETTINGS = (
    Option("tz", "IANA time zone, e.g. Europe/Berlin", complete="timezone", form="key"),
    Option("topics", "comma-separated topics, or all", complete="topics", form="key"),
    Option("difficulty", "question difficulty", choices=DIFFICULTIES, form="key"),
    Option("window", "how long answers stay open, e.g. 24h or 90m", form="key"),
    Option("feedback", "where feedback goes", choices=FEEDBACK_MODES, form="key"),
    Option("remind", "a reminder this long before close, e.g. 2h, or off", form="key"),
    Option("digest", "the weekly digest", choices=ON_OFF, form="key"),
    Option("holidays", "skip a country's public holidays: US, DE-BY ... or none", form="key"),
)
OPTIONS: dict[str, tuple[Option, ...]] = {
    "help": (Option("command", "a command to explain", complete="command"),),
    "practice": (Option("topic", "a topic (any when empty)", complete="topic"),),
    "mock": (
        Option("action", "instead of a new interview: a word for the current one", MOCK_WORDS),
        Option("topic", "a topic (any when empty)", complete="topic"),
        Option("n", f"how many questions, 1 to {MOCK_MAX} (default 5)", form="key"),
        Option("difficulty", "question difficulty", choices=DIFFICULTIES[:3]),
    ),
    "leaderboard": (
        Option("kind", "points, most improved or consistency (default points)", choices=KINDS),
        Option("period", "which period (default week)", choices=SCOPES),
        Option("board", "this channel or the whole server (default channel)", choices=BOARDS),
    ),
    "privacy": (
        Option("mode", "show or hide your name", choices=("public", "anonymous"), required=True),
    ),
    "forget-me": (Option("confirm", "delete for good", choices=("confirm",)),),
    "remind": (Option("mode", "reminders on or off", choices=ON_OFF, required=True),),
    "schedule": (
        Option("cron", "five cron fields, e.g. 0 9 * * MON-FRI", required=True, form="raw"),
        *_SETTINGS,
    ),
    "config": _SETTINGS,
}


def options_of(name: str, spec: Spec) -> tuple[Option, ...]:
    """The typed options of a command; one free-text option for an untyped command whose
    usage shows arguments; none for a command without arguments."""
    if name in OPTIONS:
        return OPTIONS[name]
    if spec.usage.strip() == f"/drill {name}":
        return ()
    return (Option("arguments", clip(spec.usage, DESCRIPTION_LIMIT), form="raw"),)


def command_text(name: str, options: Iterable[Option], values: dict[str, str | None]) -> str:
    """The text the core parser reads, from the options the user filled in."""
    words = [name]
    for option in options:
        value = values.get(option.name)
        if value is None or not value.strip():
            continue
        if option.form == "raw":
            words.append(value.strip())
        elif option.form == "key":
            words.append(f"{option.name}={shlex.quote(value.strip())}")
        else:
            words.append(shlex.quote(value.strip()))
    return " ".join(words)


class CommandRunner(Protocol):
    """What the commands ask of the bridge: run a command text, and the bank's topics."""

    async def run_command(self, interaction: discord.Interaction, name: str, text: str) -> None: ...

    def topics(self) -> Iterable[str]: ...


Choices = list[app_commands.Choice[str]]


def suggest(values: Iterable[str], current: str, prefix: str = "") -> Choices:
    """Up to 25 values containing what the user typed, as choices (prefixed for lists; a
    choice is at most 100 characters)."""
    needle = current.strip().lower()
    found = [prefix + v for v in values if needle in v.lower() and len(prefix + v) <= 100]
    return [app_commands.Choice(name=v, value=v) for v in found][:MAX_SUGGESTIONS]


@cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


class Completer:
    """Autocomplete of topics (one, or the last of a comma list), time zones and commands."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    async def topic(self, interaction: discord.Interaction, current: str) -> Choices:
        return suggest(sorted(self.runner.topics()), current)

    async def topics(self, interaction: discord.Interaction, current: str) -> Choices:
        done, _, last = current.rpartition(",")
        return suggest(["all", *sorted(self.runner.topics())], last, done + "," if done else "")

    async def timezone(self, interaction: discord.Interaction, current: str) -> Choices:
        return suggest(_timezones(), current)

    async def command(self, interaction: discord.Interaction, current: str) -> Choices:
        return suggest(SPECS, current)


def build_group(runner: CommandRunner) -> app_commands.Group:
    """`/drill` with one subcommand per spec, allowed in servers and in DMs with the bot."""
    group = app_commands.Group(
        name="drill",
        description="Interview practice: daily questions, practice, streaks and boards",
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True),
    )
    completer = Completer(runner)
    for name, spec in SPECS.items():
        group.add_command(_subcommand(name, spec, runner, completer, group))
    return group


def _subcommand(
    name: str,
    spec: Spec,
    runner: CommandRunner,
    completer: Completer,
    group: app_commands.Group,
) -> app_commands.Command[Any, ..., None]:
    """A subcommand whose parameters are the spec's options (discord.py reads them from the
    callback's signature, so the signature is built from the option table)."""
    options = options_of(name, spec)

    async def callback(interaction: discord.Interaction, **values: str | None) -> None:
        await runner.run_command(interaction, name, command_text(name, options, values))

    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
            ),
            *(
                inspect.Parameter(
                    o.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=str,
                    default=inspect.Parameter.empty if o.required else None,
                )
                for o in options
            ),
        ]
    )
    decorated: Callable[..., Coroutine[Any, Any, None]] = app_commands.describe(
        **{o.name: clip(o.description, DESCRIPTION_LIMIT) for o in options}
    )(callback)
    choices = {
        o.name: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for o in options
        if o.choices
    }
    if choices:
        decorated = app_commands.choices(**choices)(decorated)
    completions = {o.name: getattr(completer, o.complete) for o in options if o.complete}
    if completions:
        decorated = app_commands.autocomplete(**completions)(decorated)
    return app_commands.Command(
        name=name,
        description=clip(spec.summary, DESCRIPTION_LIMIT),
        callback=decorated,
        parent=group,
    )
