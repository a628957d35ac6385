"""The `drillbot` command line: run the bot, check question packs, evaluate a grader."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import stat
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings
from bot.errors import PackError
from bot.packs import load_bank, pack_json_schema
from bot.redaction import configure_logging, secret_values

PLATFORMS = ("console", "slack", "discord")


def _platforms(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in names if p not in PLATFORMS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"platforms are {', '.join(PLATFORMS)}; got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drillbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (the console when no platform token is set)")
    run.add_argument(
        "--platform",
        type=_platforms,
        default=None,
        help="console, slack, discord, or several comma-separated",
    )
    run.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="console demo: run the clock this many times faster (e.g. 600)",
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="drillbot's own logs at debug level"
    )

    questions = sub.add_parser("questions", help="check and describe question packs")
    qsub = questions.add_subparsers(dest="action", required=True)
    lint = qsub.add_parser("lint", help="check packs; exit 1 on any error")
    lint.add_argument("paths", nargs="*", type=Path)
    qsub.add_parser("schema", help="print the JSON Schema of a pack")
    stats = qsub.add_parser("stats", help="counts by topic, difficulty and type")
    stats.add_argument("paths", nargs="*", type=Path)
    stats.add_argument(
        "--markdown", action="store_true", help="print the topic table of questions/README.md"
    )

    evaluate = sub.add_parser("eval", help="measure a grader")
    esub = evaluate.add_subparsers(dest="what", required=True)
    grading = esub.add_parser("grading", help="correlate a grader with human grades")
    grading.add_argument("--data", type=Path, required=True,
                         help="CSV of graded answers (see bot/grading/evaluate.py)")
    grading.add_argument("--limit", type=int, default=None, help="a seeded sample of N answers")
    grading.add_argument("--split", default=None,
                         help="only the rows whose split column is this (e.g. holdout)")
    injection = esub.add_parser(
        "injection", help="score gain from injected instructions, pre-filter recall, leaks"
    )
    checks = esub.add_parser(
        "checks", help="how often learners overrule the grader's marks, per key point"
    )
    checks.add_argument("--workspace", default=None, help="one workspace only")
    checks.add_argument("--top", type=int, default=20, help="key points listed per workspace")
    checks.add_argument("--json", type=Path, default=None, help="also write the figures here")
    for sub_parser in (grading, injection):
        sub_parser.add_argument(
            "--grader",
            choices=("offline", "llm"),
            default=None,
            help="default: the configured one (llm when an OpenAI key or base URL is set)",
        )
        sub_parser.add_argument(
            "--concurrency", type=int, default=None, help="gradings in flight at once"
        )
        sub_parser.add_argument(
            "--json", type=Path, default=None, help="also write the figures here"
        )
    return parser


def _bank_paths(settings: Settings, paths: Sequence[Path]) -> list[Path]:
    return list(paths) or settings.pack_paths


def cmd_lint(settings: Settings, paths: Sequence[Path]) -> int:
    try:
        bank = load_bank(_bank_paths(settings, paths))
    except PackError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(bank)} questions")
    return 0


def cmd_stats(settings: Settings, paths: Sequence[Path], markdown: bool = False) -> int:
    """Counts per topic: open questions by difficulty, MCQs in all and hard."""
    try:
        bank = load_bank(_bank_paths(settings, paths))
    except PackError as exc:
        print(exc, file=sys.stderr)
        return 1
    count: Counter[tuple[str, str, str]] = Counter((q.topic, q.type, q.difficulty) for q in bank)
    levels = ("easy", "medium", "hard")
    topics = sorted({q.topic for q in bank})
    counts: dict[str, list[int]] = {
        topic: [count[(topic, "open", d)] for d in levels]
        + [sum(count[(topic, "open", d)] for d in levels)]
        + [sum(count[(topic, "mcq", d)] for d in levels), count[(topic, "mcq", "hard")]]
        for topic in topics
    }
    rows: list[list[str | int]] = [[topic, *cells] for topic, cells in counts.items()]
    total: list[str | int] = ["total", *(sum(col) for col in zip(*counts.values(), strict=True))]
    header = ["topic", "open easy", "open medium", "open hard", "open", "mcq", "mcq hard"]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|---" + "|---:" * (len(header) - 1) + "|")
        for row in rows:
            print("| " + " | ".join(map(str, row)) + " |")
        print("| " + " | ".join(f"**{cell}**" for cell in total) + " |")
    else:
        print(f"{header[0]:<22}" + "".join(f"{h:>13}" for h in header[1:]))
        for row in [*rows, total]:
            print(f"{row[0]:<22}" + "".join(f"{cell:>13}" for cell in row[1:]))
    mcq: Counter[str] = Counter(q.difficulty for q in bank if q.type == "mcq")
    print(
        f"{len(bank)} questions over {len(topics)} topics; "
        f"MCQs by difficulty: {', '.join(f'{mcq[d]} {d}' for d in levels)}"
    )
    return 0


def cmd_checks(settings: Settings, args: argparse.Namespace) -> int:
    """`eval checks`: the learners' self-checks in the configured database, counted per
    workspace and key point (evaluation of grades reads the grader's marks; this shows where
    learners disagree with them)."""
    from bot.domain.selfcheck import Overrules, overrule_report
    from bot.store.db import Database
    from bot.store.selfchecks import SelfChecks

    async def read() -> Overrules:
        db = Database(settings.database_url)
        try:
            await db.migrate()
            return await SelfChecks(db).overrules(args.workspace)
        finally:
            await db.close()

    report = asyncio.run(read())
    print(overrule_report(report, args.top))
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """`eval grading` and `eval injection` with the chosen (or configured) grader."""
    from bot.app import make_grader
    from bot.errors import GraderUnavailable, ModelUnavailable, StartupError
    from bot.grading.evaluate import evaluate, format_report
    from bot.grading.injection import format_injection_report, run_injection_eval

    try:
        chosen = settings.model_copy(update={"grader": args.grader}) if args.grader else settings
        grader = make_grader(chosen)
    except StartupError as exc:
        print(f"drillbot: {exc}", file=sys.stderr)
        return 2
    concurrency = args.concurrency or settings.llm_concurrency
    # The injection report counts leaks itself; one warning per leaked reply would drown it.
    logging.getLogger("bot.grading.llm").setLevel(logging.ERROR)

    async def measure() -> tuple[str, str]:
        try:
            if args.what == "grading":
                report = await evaluate(
                    grader, args.data, limit=args.limit, concurrency=concurrency,
                    bank=load_bank(settings.pack_paths), split=args.split,
                )
                return format_report(report), report.to_json()
            bank = load_bank(settings.pack_paths)
            injection = await run_injection_eval(grader, bank, concurrency=concurrency)
            return format_injection_report(injection), injection.to_json()
        finally:
            close = getattr(grader, "aclose", None)
            if close is not None:
                await close()

    try:
        text, figures = asyncio.run(measure())
    except GraderUnavailable as exc:
        print(f"drillbot: the {grader.name} grader failed: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError, ModelUnavailable) as exc:
        print(f"drillbot: {exc}", file=sys.stderr)
        return 2
    print(text)
    if args.json:
        args.json.write_text(figures, encoding="utf-8")
    return 0


NO_PLATFORM = """\
drillbot: no chat platform is configured, and standard input is neither a terminal nor a
script (a container started without -it?), so the console has nothing to read. Either
  - set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Slack, docs/slack.md), or DISCORD_TOKEN
    (Discord, docs/discord.md), e.g. docker run -e DISCORD_TOKEN=... drillbot;
  - or run the console in a terminal: docker run -it drillbot;
  - or pipe a script to it: drillbot run --platform console < script.txt"""


def _stdin_is_a_device() -> bool:
    """Standard input is a character device that is no terminal (`/dev/null`: what `docker
    run` without `-i` gives): the console would read nothing, for ever. A pipe or a file is
    a script."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISCHR(mode) and not sys.stdin.isatty()


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import run
    from bot.errors import ServiceFailed, StartupError

    platforms = args.platform or settings.configured_platforms()
    if not args.platform and platforms == ["console"] and _stdin_is_a_device():
        print(NO_PLATFORM, file=sys.stderr)
        return 2
    try:
        asyncio.run(run(settings, platforms, args.speed))
    except PackError as exc:
        print("drillbot cannot start: a question pack is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"drillbot cannot start: {exc}", file=sys.stderr)
        return 2
    except ServiceFailed as exc:
        print(f"drillbot stopped: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        # Without the values: a refused setting may be a secret (DRILLBOT_SECRET_KEY).
        problems = exc.errors(include_url=False, include_input=False)
        print("drillbot: bad setting:", file=sys.stderr)
        for problem in problems:
            print(f"  {'.'.join(map(str, problem['loc']))}: {problem['msg']}", file=sys.stderr)
        return 2
    configure_logging(getattr(args, "verbose", False), secret_values(settings))
    if args.command == "run":
        return cmd_run(settings, args)
    if args.command == "questions":
        if args.action == "schema":
            print(pack_json_schema())
            return 0
        if args.action == "lint":
            return cmd_lint(settings, args.paths)
        return cmd_stats(settings, args.paths, args.markdown)
    if args.what == "checks":
        return cmd_checks(settings, args)
    return cmd_eval(settings, args)
