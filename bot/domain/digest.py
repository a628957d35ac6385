"""The weekly digest's figures, from the week's counted answers (docs/design.md "Weekly
digest"): participation, mean score per topic with the weakest named, the hardest question,
the top 3 on points and the most improved. Names follow each user's privacy choice and are
plain names, never mentions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.fairboards import Entry
from bot.domain.render import display_name
from bot.domain.types import ChannelRef, Digest

HARDEST_MIN = 3
TOP = 3

Names = Mapping[str, tuple[str | None, str | None]]


@dataclass(frozen=True)
class WeekAnswer:
    user_id: str
    question_id: str
    local_date: str
    status: str
    score: int | None


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _name(names: Names, user_id: str) -> str:
    name, privacy = names.get(user_id, (None, None))
    return display_name(name, privacy, user_id)


def _means(pairs: Iterable[tuple[str, int]]) -> dict[str, tuple[float, int]]:
    sums: dict[str, list[int]] = {}
    for key, score in pairs:
        sums.setdefault(key, []).append(score)
    return {k: (sum(v) / len(v), len(v)) for k, v in sums.items()}


def build_digest(
    channel: ChannelRef,
    channel_name: str,
    week_start: date,
    answers: Sequence[WeekAnswer],
    scheduled_days: set[str],
    topic_of: Callable[[str], str | None],
    names: Names,
    top: Sequence[tuple[str, int]],
    most_improved: Entry | None,
) -> Digest:
    """`top`: (user, points) best first; `scheduled_days`: the week's local dates with a
    scheduled daily (skipped ones left out)."""
    week = iso_week(week_start)
    title = f"Weekly digest for #{channel_name}, week {week} (from {week_start.isoformat()})"
    if not answers:
        return Digest(channel, week, f"{title}: no answers last week. A new question is next.")
    people = {a.user_id for a in answers}
    sections = [("Participation", _participation(answers, people, scheduled_days))]
    graded = [a for a in answers if a.status == "graded" and a.score is not None]
    topics = _means((topic_of(a.question_id) or "other", a.score or 0) for a in graded)
    if topics:
        weakest = min(topics, key=lambda t: (topics[t][0], t))
        listed = ", ".join(f"{t} {mean:.1f}/10 ({n})" for t, (mean, n) in sorted(topics.items()))
        sections.append(("Mean score per topic", f"{listed}. Weakest: {weakest}."))
    questions = {
        q: v
        for q, v in _means((a.question_id, a.score or 0) for a in graded).items()
        if v[1] >= HARDEST_MIN
    }
    if questions:
        hardest = min(questions, key=lambda q: (questions[q][0], q))
        mean, n = questions[hardest]
        sections.append(("Hardest question", f"{hardest}: mean {mean:.1f}/10 over {n} answers"))
    if top:
        sections.append(
            (
                "Top 3 on points",
                ", ".join(
                    f"{i}. {_name(names, user)} ({points} pts)"
                    for i, (user, points) in enumerate(top[:TOP], 1)
                ),
            )
        )
    if most_improved is not None:
        sections.append(
            ("Most improved", f"{_name(names, most_improved.user_id)} {most_improved.shown}")
        )
    return Digest(channel, week, title, sections)


def _participation(answers: Sequence[WeekAnswer], people: set[str], scheduled: set[str]) -> str:
    who = "1 person" if len(people) == 1 else f"{len(people)} people"
    text = f"{who} answered {len(answers)} time(s)"
    if not scheduled:
        return text + "."
    shares = [
        len({a.local_date for a in answers if a.user_id == u and a.local_date in scheduled})
        / len(scheduled)
        for u in people
    ]
    share = sum(shares) / len(shares)
    return f"{text}; on average each answered {share:.0%} of the {len(scheduled)} scheduled days."
