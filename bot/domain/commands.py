"""The one `/drill` command parser, shared by every platform (docs/design.md "Commands").

`parse("leaderboard month workspace")` returns a `Command`; anything malformed raises
`UsageError` whose message is the usage text to show, never a stack trace. Values that need
the bank's knowledge (its topics) are checked by the command handlers; everything else is
checked here, so a bad value is refused before anything is saved.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.clock import zone
from bot.domain.calendar import check_holidays, parse_date, parse_range
from bot.domain.cronspec import CronSpec
from bot.domain.fairboards import KINDS
from bot.errors import CronError, UsageError

DIFFICULTIES = ("easy", "medium", "hard", "mixed")
FEEDBACK_MODES = ("private", "thread")
SCOPES = ("week", "month", "all")
BOARDS = ("channel", "workspace")
CONFIG_KEYS = ("tz", "topics", "difficulty", "window", "feedback", "remind", "digest", "holidays")
ON_OFF = ("on", "off")


@dataclass(frozen=True)
class Command:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    usage: str
    summary: str
    admin: bool
    parse: Callable[[list[str]], dict[str, Any]]


def _no_args(name: str) -> Callable[[list[str]], dict[str, Any]]:
    def parse(args: list[str]) -> dict[str, Any]:
        if args:
            raise UsageError(f"`{name}` takes no arguments")
        return {}

    return parse


def _help(args: list[str]) -> dict[str, Any]:
    if len(args) > 1:
        raise UsageError("`help` takes at most one command name")
    return {"topic": args[0].lower()} if args else {}


def _practice(args: list[str]) -> dict[str, Any]:
    if len(args) > 1:
        raise UsageError("`practice` takes at most one topic")
    return {"topic": args[0].lower()} if args else {}


def _leaderboard(args: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": "points", "scope": "week", "board": "channel"}
    for arg in (a.lower() for a in args):
        if arg in KINDS:
            result["kind"] = arg
        elif arg in SCOPES:
            result["scope"] = arg
        elif arg in BOARDS:
            result["board"] = arg
        else:
            raise UsageError(f"unknown leaderboard option {arg!r}")
    if result["kind"] == "improved" and result["scope"] == "all":
        raise UsageError("`improved` compares a week or a month with the one before; not `all`")
    return result


def _remind(args: list[str]) -> dict[str, Any]:
    if len(args) != 1 or args[0].lower() not in ON_OFF:
        raise UsageError("say `on` or `off`")
    return {"enabled": args[0].lower() == "on"}


def _skip(args: list[str]) -> dict[str, Any]:
    """`skip DATE[..DATE]`, `skip list`, `skip clear DATE` (dates are checked against the
    channel's today by the handler)."""
    words = [a.lower() for a in args]
    if words == ["list"]:
        return {"action": "list"}
    if words[:1] == ["clear"] and len(words) != 2:
        raise UsageError("`skip clear` takes one date (YYYY-MM-DD)")
    if len(words) == 2 and words[0] == "clear":
        return {"action": "clear", "date": parse_date(words[1])}
    if len(words) == 1:
        start, end = parse_range(words[0])
        return {"action": "add", "start": start, "end": end}
    raise UsageError("give a date or a range (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)")


def _answer_number(text: str) -> int:
    """`#12` or `12`: an answer number as `/drill history` shows it (it fits the database)."""
    digits = text.removeprefix("#")
    if not digits.isdecimal() or len(digits) > ANSWER_DIGITS:
        raise UsageError(f"{text!r} is not an answer number (see `/drill history`)")
    return int(digits)


def _regrade(args: list[str]) -> dict[str, Any]:
    if len(args) > 1:
        raise UsageError("give at most one answer number (see `/drill history`)")
    return {"answer": _answer_number(args[0])} if args else {}


def _check(args: list[str]) -> dict[str, Any]:
    """`check [#ANSWER] N ...`: key point numbers to flip, of the given or the latest answer;
    with no number, the marks are shown."""
    result: dict[str, Any] = {}
    if args and args[0].startswith("#"):
        result["answer"] = _answer_number(args[0])
        args = args[1:]
    numbers = []
    for arg in args:
        for part in filter(None, arg.split(",")):
            if not part.isdecimal() or len(part) > 2:
                raise UsageError(f"{part!r} is not a key point number (1, 2, 3...)")
            numbers.append(int(part))
    result["flips"] = sorted(set(numbers))
    return result


def _override(args: list[str]) -> dict[str, Any]:
    if len(args) != 2:
        raise UsageError("give an answer number and a score from 0 to 10")
    if args[1] not in {str(n) for n in range(11)}:
        raise UsageError(f"score {args[1]!r}: scores go from 0 to 10")
    return {"answer": _answer_number(args[0]), "score": int(args[1])}


ANSWER_DIGITS = 12
#: Commands whose conversation continues in the user's DM, wherever they are run (their
#: answers are plain messages there; a self-check is of those answers).
DM_COMMANDS = frozenset({"practice", "mock", "check"})
MOCK_WORDS = ("hint", "skip", "stop", "resume", "again")
MOCK_MAX = 10


def _mock(args: list[str]) -> dict[str, Any]:
    """`mock [topic] [n] [difficulty]` (any order; `n=5` too), or a session word."""
    words = [a.lower() for a in args]
    if words and words[0] in MOCK_WORDS:
        if len(words) > 1:
            raise UsageError(f"`mock {words[0]}` takes nothing more")
        return {"action": words[0]}
    result: dict[str, Any] = {"count": 5}
    for word in words:
        number = word.removeprefix("n=")
        if number.isdecimal():
            result["count"] = int(number)
        elif word in ("easy", "medium", "hard"):
            result["difficulty"] = word
        elif "topic" not in result and "=" not in word:
            result["topic"] = word
        else:
            raise UsageError(f"unexpected {word!r}")
    if not 1 <= result["count"] <= MOCK_MAX:
        raise UsageError(f"a mock interview has 1 to {MOCK_MAX} questions")
    return result


def _forget(args: list[str]) -> dict[str, Any]:
    if args not in ([], ["confirm"]):
        raise UsageError("`forget-me` takes only the word `confirm`")
    return {"confirm": bool(args)}


def _privacy(args: list[str]) -> dict[str, Any]:
    if len(args) != 1 or args[0].lower() not in ("public", "anonymous"):
        raise UsageError("say `public` or `anonymous`")
    return {"mode": args[0].lower()}


def parse_window(text: str) -> int:
    """`24h`, `90m`, `1h30m` -> minutes (5 minutes to 7 days)."""
    match = re.fullmatch(r"(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,6})m)?", text.strip().lower())
    if not text.strip() or not match:
        raise UsageError(f"window {text!r}: use hours and minutes like `24h`, `90m` or `1h30m`")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    total = int(timedelta(days=days, hours=hours, minutes=minutes).total_seconds() // 60)
    if not 5 <= total <= 7 * 24 * 60:
        raise UsageError(f"window {text!r}: must be between 5 minutes and 7 days")
    return total


def parse_remind(text: str) -> int:
    """A reminder's lead time before close, like a window (`2h`, `30m`); `off` turns it off.
    Whether it fits the channel's window is checked with the channel's settings."""
    try:
        return parse_window(text)
    except UsageError:
        raise UsageError(
            f"remind {text!r}: a time before close like `2h` or `30m` (5 minutes to 7 days), "
            "or `off`"
        ) from None


def check_timezone(name: str) -> str:
    try:
        zone(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return name


def _settings(pairs: list[str]) -> dict[str, Any]:
    """`key=value` options of `schedule` and `config`, each checked."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.lower()
        if not sep or key not in CONFIG_KEYS:
            raise UsageError(f"unknown option {pair!r}; options are {', '.join(CONFIG_KEYS)}")
        if key == "tz":
            out["timezone"] = check_timezone(value)
        elif key == "topics":
            topics = [t.strip().lower() for t in value.split(",") if t.strip()]
            out["topics"] = [] if topics == ["all"] else topics
        elif key == "difficulty":
            if value.lower() not in DIFFICULTIES:
                raise UsageError(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
            out["difficulty"] = value.lower()
        elif key == "window":
            out["window_minutes"] = parse_window(value)
        elif key == "remind":
            out["remind_minutes"] = None if value.lower() == "off" else parse_remind(value)
        elif key == "digest":
            if value.lower() not in ON_OFF:
                raise UsageError("digest must be `on` or `off`")
            out["digest"] = value.lower() == "on"
        elif key == "holidays":
            out["holidays"] = check_holidays(value)
        else:
            if value.lower() not in FEEDBACK_MODES:
                raise UsageError(f"feedback must be one of {', '.join(FEEDBACK_MODES)}")
            out["feedback"] = value.lower()
    return out


def _schedule(args: list[str]) -> dict[str, Any]:
    cron_parts = [a for a in args if "=" not in a]
    if len(cron_parts) != 5:
        raise UsageError("a schedule is 5 cron fields: minute hour day month weekday")
    try:
        spec = CronSpec.parse(" ".join(cron_parts))
    except CronError as exc:
        raise UsageError(f"bad schedule: {exc}") from exc
    return {"cron": spec.text, **_settings([a for a in args if "=" in a])}


def _config(args: list[str]) -> dict[str, Any]:
    return _settings(args)


SPECS: dict[str, Spec] = {
    "help": Spec("/drill help [command]", "what drillbot can do", False, _help),
    "practice": Spec("/drill practice [topic]", "a private practice question", False, _practice),
    "streak": Spec(
        "/drill streak", "your streak, best streak and freezes", False, _no_args("streak")
    ),
    "leaderboard": Spec(
        "/drill leaderboard [points|improved|consistency] [week|month|all] [channel|workspace]",
        "top 10 and your rank: points, most improved (not `all`) or consistency",
        False,
        _leaderboard,
    ),
    "remind": Spec(
        "/drill remind on|off",
        "a private reminder before a daily you have not answered closes (this workspace)",
        False,
        _remind,
    ),
    "mock": Spec(
        "/drill mock [topic] [n=5] [easy|medium|hard]  (then: hint, skip, stop, resume; "
        "`/drill mock again` repeats the last set)",
        "a mock interview in DM, with follow-ups and a scorecard",
        False,
        _mock,
    ),
    "stats": Spec(
        "/drill stats",
        "your mastery per topic, reviews due, and a chart",
        False,
        _no_args("stats"),
    ),
    "export": Spec(
        "/drill export",
        "all your data in this workspace, as a JSON file",
        False,
        _no_args("export"),
    ),
    "history": Spec(
        "/drill history", "your recent answers, scores and feedback", False, _no_args("history")
    ),
    "regrade": Spec(
        "/drill regrade [ANSWER]",
        "grade your latest (or a given) answer once more; once per answer",
        False,
        _regrade,
    ),
    "check": Spec(
        "/drill check [#ANSWER] N ...",
        "flip the grader's marks on key points of your latest (or a given) practice answer",
        False,
        _check,
    ),
    "privacy": Spec(
        "/drill privacy public|anonymous",
        "show or hide your name in reveals and boards",
        False,
        _privacy,
    ),
    "forget-me": Spec(
        "/drill forget-me [confirm]", "delete all your data in this workspace", False, _forget
    ),
    "schedule": Spec(
        "/drill schedule CRON [tz=Area/City] [topics=a,b] "
        "[difficulty=easy|medium|hard|mixed] [window=24h] [feedback=private|thread]",
        "set this channel's schedule (admin)",
        True,
        _schedule,
    ),
    "config": Spec(
        "/drill config [tz=..] [topics=..] [difficulty=..] [window=..] [feedback=..] "
        "[remind=2h|off] [digest=on|off] [holidays=CC[-SUBDIV]|none]",
        "show or change this channel's settings (admin)",
        True,
        _config,
    ),
    "skip": Spec(
        "/drill skip DATE[..DATE] | list | clear DATE",
        "skip dates here: no daily, streaks untouched (admin; YYYY-MM-DD, channel time)",
        True,
        _skip,
    ),
    "pause": Spec(
        "/drill pause", "stop posting here until resumed (admin)", True, _no_args("pause")
    ),
    "resume": Spec("/drill resume", "start posting here again (admin)", True, _no_args("resume")),
    "post-now": Spec(
        "/drill post-now", "post an extra daily now (admin)", True, _no_args("post-now")
    ),
    "override": Spec(
        "/drill override ANSWER SCORE",
        "set an answer's score; recorded with who and when (admin)",
        True,
        _override,
    ),
    "close-now": Spec(
        "/drill close-now",
        "close open dailies here and reveal (admin)",
        True,
        _no_args("close-now"),
    ),
}


def usage(name: str | None = None) -> str:
    """Usage of one command, or of all."""
    if name in SPECS:
        spec = SPECS[name]
        return f"Usage: {spec.usage}\n{spec.summary}"
    lines = ["drillbot commands:"]
    lines += [f"  {spec.usage}  -  {spec.summary}" for spec in SPECS.values()]
    return "\n".join(lines)


def parse(text: str) -> Command:
    """Parse the text after `/drill` (a leading `/drill` is accepted too)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"{exc}\n\n{usage()}") from exc
    if words and words[0].lower() in ("/drill", "drill"):
        words = words[1:]
    if not words:
        return Command("help")
    name, args = words[0].lower(), words[1:]
    spec = SPECS.get(name)
    if spec is None:
        raise UsageError(f"unknown command {name!r}\n\n{usage()}")
    try:
        return Command(name, spec.parse(args))
    except (ValueError, OverflowError) as exc:  # UsageError is a ValueError
        raise UsageError(f"{exc}\n{usage(name)}") from exc


#: Commands only admins may run.
ADMIN = frozenset(name for name, spec in SPECS.items() if spec.admin)
#: Commands that change nothing stored: they record no event, so they keep working on a full
#: or read-only disk (a redelivery shows the same facts again; `export` and `stats` send a
#: file again, harmlessly). Every other command, and any new one, records its event.
READ_ONLY = frozenset({"help", "streak", "leaderboard", "history", "stats", "export"})
