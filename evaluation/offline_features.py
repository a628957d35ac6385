"""Measure the offline grader's features on the dev sets once, for `tune_offline.py`.

Runs `OfflineGrader.assess` (floors, pre-filter, model, lexical evidence) on every answer of the
dev sets and pickles what the fit needs: per key point the `Features.row` inputs, whether a
contradiction voided it, whether the answer reads as a keyword list, the floor, and the labels
(answer target; per-key-point judgments where the set has them). Labels are stored beside the
features only so the fit can read them; nothing here looks at them.

    python evaluation/offline_features.py NAME CSV OUT.pkl [--sample N] [--split dev]
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.grading.base import GradeRequest
from bot.grading.evaluate import Row, load_rows, question_for, sample
from bot.grading.offline import OfflineGrader
from bot.packs import Bank, Question, load_bank

CREDIT = {"covered": 1.0, "partly": 0.5, "missed": 0.0}


def read_set(*, tuning: bool) -> tuple[argparse.Namespace, Bank, list[Row], dict[str, list[str]]]:
    """The command line both tuning scripts take (`name csv out [--sample N] [--split S]`), the
    bank, the chosen rows and their per-key-point judgments. `tuning`: refuse hold-out rows."""
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("csv", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--split", default=None)
    args = parser.parse_args()
    bank = load_bank(Settings().pack_paths)
    rows = load_rows(args.csv)
    if args.split:
        rows = [r for r in rows if r.split == args.split]
    if tuning and any(r.split == "holdout" for r in rows):
        raise SystemExit("hold-out rows are never used for tuning: pass --split dev")
    rows = sample(rows, args.sample, seed=0)
    with args.csv.open(encoding="utf-8", newline="") as handle:
        judged = {r["id"]: json.loads(r["judgments"]) for r in csv.DictReader(handle)
                  if r.get("judgments")}
    return args, bank, rows, judged


Measure = Callable[[OfflineGrader, GradeRequest], dict[str, Any]]


def dump(measure: Measure, *, tuning: bool) -> None:
    """The loop both scripts run: read the set (`read_set`), grade every row's request once
    with `measure`, add the row's labels, print progress, and pickle the list to `out`."""
    args, bank, rows, judged = read_set(tuning=tuning)
    grader = OfflineGrader()
    questions: dict[str, Question] = {}
    out = []
    started = time.perf_counter()
    for i, row in enumerate(rows):
        if row.question_id not in questions:
            questions[row.question_id] = question_for(row, bank)
        question = questions[row.question_id]
        item = measure(grader, GradeRequest(question=question, answer=row.answer))
        item.update({
            "set": args.name, "id": row.id, "qid": row.question_id, "target": row.target,
            "profile": row.profile, "split": row.split,
            "weights": [kp.weight for kp in question.key_points],
            "judgments": [CREDIT[j] for j in judged[row.id]] if row.id in judged else None,
        })
        out.append(item)
        if i % 500 == 0:
            print(f"{args.name}: {i}/{len(rows)} {time.perf_counter() - started:.0f} s",
                  flush=True)
    args.out.write_bytes(pickle.dumps(out))
    print(f"{args.name}: done, {len(out)} rows")


def features(grader: OfflineGrader, request: GradeRequest) -> dict[str, Any]:
    """What `tune_offline.py` fits on: per key point the `Features.row` inputs, and the
    answer's floor, flags, contradictions and keyword-list verdict."""
    assessment = grader.assess(request)
    measured = assessment.features
    return {
        "floor": assessment.floor is not None, "flagged": bool(assessment.flags),
        "contradicted": list(assessment.contradicted),
        "stuffed": assessment.stuffed,
        "rows": ([measured.row(k) for k in range(len(request.rubric))]
                 if measured is not None else None),
    }


if __name__ == "__main__":
    dump(features, tuning=False)
