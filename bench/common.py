"""Helpers every benchmark shares: statistics, result rows, databases, a null platform, texts.

One module so the benchmarks measure the same way: the same median, the same percentile, the
same migrated schema, the same SQLite pragmas as the bot and the same answer texts.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.config import SHIPPED_PACKS
from bot.domain.selfcheck import CheckView
from bot.domain.types import ChannelRef, DailyPost, Reveal
from bot.packs import Bank, Question, load_bank
from bot.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data" / "bench"

#: Zones with whole, half and quarter hour offsets, both hemispheres (DST in opposite seasons).
TIMEZONES: tuple[str, ...] = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Kyiv", "America/New_York",
    "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
    "America/St_Johns", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Shanghai", "Asia/Tokyo",
    "Asia/Singapore", "Asia/Dubai", "Australia/Sydney", "Australia/Adelaide", "Pacific/Auckland",
    "Africa/Lagos",
)

# -- statistics -----------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """Median of repetitions: one slow repetition on a shared machine does not move it."""
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks, as numpy's default does."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One row of the final table: a figure, its same-run baseline, their ratio and the goal.

    `ok` is None for informational rows (no goal); `ratio` is figure/baseline as documented per
    row in `note`, so a reader never has to guess which way it points.
    """

    bench: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    goal: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Section:
    """What one benchmark hands back: table rows plus every raw number, for the JSON file."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"figures": [asdict(f) for f in self.figures], "details": self.details}


def number(value: float | None, unit: str = "") -> str:
    """A figure with 3 significant digits and its unit, or '-' when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def table(figures: Sequence[Figure]) -> str:
    """The compact end-of-run table, aligned as plain text (it goes to logs and chat)."""
    head = ("bench", "metric", "figure", "baseline (same run)", "ratio", "goal", "")
    rows = [head]
    for f in figures:
        baseline = f"{number(f.baseline, f.unit)} {f.baseline_label}".strip() if f.baseline else ""
        verdict = "" if f.ok is None else ("PASS" if f.ok else "FAIL")
        ratio = "" if f.ratio is None else f"{f.ratio:.3g}x"
        rows.append((f.bench, f.metric, number(f.value, f.unit), baseline, ratio, f.goal, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.bench}/{f.metric}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["notes:", *notes] if notes else []))


# -- the bot's pieces -----------------------------------------------------------------------


def shipped_bank() -> Bank:
    """The shipped questions, loaded the way the app loads them."""
    return load_bank([SHIPPED_PACKS])


def open_bank(bank: Bank) -> Bank:
    """Only open questions: a 40-80-word answer to an MCQ daily is discussion, not an answer,
    so an MCQ daily would make the ingest benchmark measure nothing (tests do the same)."""
    return Bank({q.id: q for q in bank.open_questions()}, bank.topics)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def migrate_sqlite(path: Path) -> dict[str, str]:
    """Create the schema with the project's own migrations; return the pragmas the project's
    connections run with, so raw-SQL baselines apply exactly those and not a copy of them."""
    db = Database(sqlite_url(path))
    try:
        await db.migrate()
        async with db.read() as conn:
            return {name: str((await conn.exec_driver_sql(f"PRAGMA {name}")).scalar())
                    for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}
    finally:
        await db.close()


@dataclass
class NullAdapter:
    """A platform that accepts every call and shows nothing: the benchmarks time the core.

    It keeps only a count and the last post (a list of 1,000 posts would be the adapter's
    memory, not the core's, in the RSS benchmark).
    """

    platform: str = "bench"
    posted: int = 0
    last: DailyPost | None = None

    async def post_daily(self, post: DailyPost) -> str:
        self.posted += 1
        self.last = post
        return f"m{post.daily_id}"

    async def find_daily(self, post: DailyPost) -> str | None:
        return None

    async def post_reveal(self, reveal: Reveal) -> None:
        return None

    async def reply_in_thread(self, channel: ChannelRef, thread_id: str, text: str) -> None:
        return None

    async def send_private(self, channel: ChannelRef, user_id: str, text: str,
                           thread_id: str | None = None, check: CheckView | None = None) -> None:
        return None

    async def add_reaction(self, channel: ChannelRef, message_id: str, band: str,
                           thread_id: str | None = None) -> None:
        return None

    async def notify_admins(self, channel: ChannelRef, text: str) -> None:
        return None

    async def upload_file(self, channel: ChannelRef, user_id: str, filename: str, data: bytes,
                          title: str) -> None:
        return None


# -- answer texts -----------------------------------------------------------------------------

_FILLER = (
    "I think the main idea is that", "in practice", "for example", "which means that",
    "so overall", "this matters because", "in my last project we saw that", "as far as I know",
    "the trade-off is", "one thing people often miss is that", "put simply", "on the other hand",
    "it depends on the data, but usually", "to be honest I am not fully sure, however",
)
_WORD = re.compile(r"\S+")


def answer_text(question: Question, rng: random.Random) -> str:
    """A 40-80-word answer in the voice of a chat user: pieces of the reference answer and key
    points (more or fewer, so scores spread) stitched with filler, as people actually write.

    Grading cost depends on the text's length and vocabulary, so the texts must look real.
    """
    sources = [question.reference_answer or question.prompt, *(k.text for k in question.key_points)]
    target = rng.randint(40, 80)
    quality = rng.random()
    words: list[str] = []
    while len(words) < target:
        if rng.random() < quality:
            piece = _WORD.findall(rng.choice(sources))
            start = rng.randrange(max(1, len(piece) - 6))
            words += piece[start:start + rng.randint(6, 18)]
        else:
            words += _WORD.findall(rng.choice(_FILLER))
    return " ".join(words[:target]).rstrip(",;:") + "."
