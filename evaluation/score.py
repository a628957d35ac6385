"""Recompute and check the recorded scores of the interview answer set.

The set's scores are human judgments turned into a number with the one score formula of
docs/design.md ("Grades"): round(10 x covered weight / total weight), partly counting half,
minus 1 per misconception, floor 0. Keeping the formula here, in plain Python with no import of
the bot, lets anyone check that every row's `score` agrees with its `judgments` without running
any grader on the set.

Usage:  python evaluation/score.py [evaluation/interview_answers.csv]
Exits 1 and lists every problem if a row is malformed or a score disagrees with its judgments.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

CREDIT = {"covered": 1.0, "partly": 0.5, "missed": 0.0}
COLUMNS = [
    "id",
    "question_id",
    "topic",
    "difficulty",
    "question",
    "key_points",
    "answer",
    "profile",
    "judgments",
    "misconceptions",
    "score",
    "split",
]
CORE_PROFILES = ("strong", "half", "wrong_central", "vague")
ROTATING_PROFILES = ("terse_expert", "off_target", "keyword_list")
SPLITS = ("dev", "holdout")


def score(weights: list[float], judgments: list[str], misconceptions: int) -> int:
    """The one formula; Python's round() (half to even), as the bot's compute_score uses."""
    total = sum(weights)
    got = sum(w * CREDIT[j] for w, j in zip(weights, judgments, strict=True))
    return max(0, round(10 * got / total) - misconceptions)


def weights_of(key_points: list[dict]) -> list[float]:
    return [float(kp.get("weight", 1)) for kp in key_points]


def check_row(row: dict[str, str]) -> list[str]:
    """Problems with one row, empty when it is well formed and its score agrees."""
    problems = []
    try:
        key_points = json.loads(row["key_points"])
        judgments = json.loads(row["judgments"])
        misconceptions = int(row["misconceptions"])
        recorded = int(row["score"])
    except (ValueError, TypeError) as exc:
        return [f"unparsable field: {exc}"]
    if not key_points or not all(isinstance(kp, dict) and kp.get("text") for kp in key_points):
        problems.append("key_points must be a non-empty list of {text, weight}")
    if len(judgments) != len(key_points):
        problems.append(f"{len(judgments)} judgments for {len(key_points)} key points")
    if any(j not in CREDIT for j in judgments):
        problems.append(f"judgments must be one of {sorted(CREDIT)}")
    if row["profile"] not in CORE_PROFILES + ROTATING_PROFILES:
        problems.append(f"unknown profile {row['profile']!r}")
    if row["split"] not in SPLITS:
        problems.append(f"unknown split {row['split']!r}")
    if not row["answer"].strip():
        problems.append("empty answer")
    if misconceptions < 0:
        problems.append("negative misconceptions")
    if not problems:
        expected = score(weights_of(key_points), judgments, misconceptions)
        if expected != recorded:
            problems.append(f"score {recorded} but the judgments give {expected}")
    return problems


def check_set(rows: list[dict[str, str]]) -> list[str]:
    """Problems across rows: ids, five answers per question in the required profiles, splits."""
    problems = []
    ids = Counter(row["id"] for row in rows)
    problems += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    by_question: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_question[row["question_id"]].append(row)
    for qid, group in by_question.items():
        profiles = sorted(row["profile"] for row in group)
        rotating = [p for p in profiles if p in ROTATING_PROFILES]
        if (
            len(group) != 5
            or sorted(p for p in profiles if p in CORE_PROFILES) != sorted(CORE_PROFILES)
            or len(rotating) != 1
        ):
            problems.append(f"{qid}: profiles {profiles}, expected the 4 core ones + 1 rotating")
        if len({row["split"] for row in group}) != 1:
            problems.append(f"{qid}: rows of one question in different splits")
        if len({row["key_points"] for row in group}) != 1:
            problems.append(f"{qid}: rows of one question carry different key points")
    return problems


def summary(rows: list[dict[str, str]]) -> str:
    """Counts per profile, topic and split, and the mean recorded score per profile."""
    lines = [
        f"{len(rows)} answers, {len({r['question_id'] for r in rows})} questions, "
        f"{len({r['topic'] for r in rows})} topics"
    ]
    for column in ("split", "difficulty", "topic"):
        counts = Counter(row[column] for row in rows)
        lines.append(f"per {column}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines.append("profile         n   mean score (all / dev / holdout)")
    for profile in CORE_PROFILES + ROTATING_PROFILES:
        group = [row for row in rows if row["profile"] == profile]
        means = []
        for split in (None, "dev", "holdout"):
            scores = [int(r["score"]) for r in group if split in (None, r["split"])]
            means.append(f"{sum(scores) / len(scores):.2f}" if scores else "-")
        lines.append(f"{profile:<14} {len(group):>3}   {' / '.join(means)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("interview_answers.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            print(f"columns {reader.fieldnames}, expected {COLUMNS}")
            return 1
        rows = list(reader)
    problems = [f"{row['id']}: {p}" for row in rows for p in check_row(row)] + check_set(rows)
    print(summary(rows))
    for problem in problems:
        print("PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
