"""Fit the offline grader's coverage blend and marks on dev data, and report it honestly.

Reads the pickles of `offline_features.py` (the interview set's dev split, and samples of SAF v2
and SemEval-2013) and fits `COVERAGE_WEIGHTS` of `bot.grading.offline`: a logistic blend of a
key point's measurements, trained on

- the interview set's per-key-point judgments (covered 1, partly 0.5, missed 0; soft-label
  cross-entropy), which is what the grader decides, and optionally
- one public dev set's answer-level targets (squared error of the mean key-point coverage),

with a small L2 penalty. Then `COVERED_AT` / `PARTLY_AT` are chosen on the same training data
(grid, best Pearson r of the integer score). Every figure printed is out of sample: the public
sets not used in the fit, and the interview dev split by 6-fold cross-validation grouped by
question. The hold-out questions are never read here (`offline_features.py --split dev`).
The figures of the marks the grader ships are printed too (the interview ones in sample).

    python evaluation/offline_features.py interview evaluation/interview_answers.csv \
        DIR/interview.pkl --split dev
    python evaluation/offline_features.py saf SAF.csv DIR/saf.pkl --sample 1500
    python evaluation/offline_features.py semeval SEMEVAL.csv DIR/semeval.pkl --sample 4000
    python evaluation/tune_offline.py DIR
"""

from __future__ import annotations

import argparse
import pickle
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.grading.base import Judgment, compute_score
from bot.grading.evaluate import pearson, roc_auc
from bot.grading.offline import COVERED_AT, PARTLY_AT

L2 = 1e-3
PUBLIC_WEIGHT = 1.0
FOLDS = 6
MISCONCEPTION = True
MARKS = [(hi, lo) for hi in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
         for lo in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5) if lo < hi]

Row = dict[str, Any]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _design(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Key-point inputs, which answer each belongs to, and which are free (not voided)."""
    xs, owner, free = [], [], []
    for i, row in enumerate(rows):
        if row["rows"] is None:
            continue
        for k, x in enumerate(row["rows"]):
            xs.append(x)
            owner.append(i)
            free.append(not row["contradicted"][k])
    return np.asarray(xs, float), np.asarray(owner), np.asarray(free, bool)


def fit(judged: Sequence[Row], public: Sequence[Row], public_weight: float = PUBLIC_WEIGHT,
        steps: int = 3000) -> np.ndarray:
    """Gradient descent (Adam) on the two losses of the module docstring."""
    xj, _, fj = _design(judged)
    yj = np.asarray([c for r in judged if r["rows"] is not None for c in r["judgments"]])
    xj, yj = xj[fj], yj[fj]
    xp, op, fp = _design(public)
    yp = np.asarray([r["target"] for r in public])
    n_answers = len(public)
    w = np.zeros(xj.shape[1] + 1)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, steps + 1):
        grad = np.zeros_like(w)
        if len(yj):
            p = _sigmoid(w[0] + xj @ w[1:])
            err = (p - yj) / len(yj)
            grad[0] += err.sum()
            grad[1:] += xj.T @ err
        if n_answers:
            p = _sigmoid(w[0] + xp @ w[1:]) * fp
            counts = np.bincount(op, minlength=n_answers)
            mean = np.bincount(op, weights=p, minlength=n_answers) / np.maximum(counts, 1)
            d_mean = 2 * (mean - yp) / n_answers * public_weight
            d_p = d_mean[op] / np.maximum(counts[op], 1) * p * (1 - p) * fp
            grad[0] += d_p.sum()
            grad[1:] += xp.T @ d_p
        grad[1:] += 2 * L2 * w[1:]
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def coverages(w: np.ndarray, row: Row) -> list[float]:
    if row["rows"] is None:
        return [0.0] * len(row["weights"])
    cap = 0.5 if row["stuffed"] else 1.0
    return [0.0 if bad else min(cap, float(_sigmoid(w[0] + np.dot(w[1:], x))))
            for x, bad in zip(row["rows"], row["contradicted"], strict=True)]


def scores(w: np.ndarray, rows: Sequence[Row], hi: float, lo: float, cap_scale: bool = True
           ) -> list[int]:
    out = []
    for row in rows:
        wrong = min(1, sum(row["contradicted"])) if MISCONCEPTION else 0
        cs = coverages(w, row)
        if cap_scale and row["stuffed"]:
            cs = [min(c, 0.5 * (hi + lo)) for c in cs]
        judgments = [Judgment(key_point=str(k),
                              credit=1.0 if c >= hi else 0.5 if c >= lo else 0.0)
                     for k, c in enumerate(cs)]
        weights = {str(k): wt for k, wt in enumerate(row["weights"])}
        out.append(compute_score(judgments, weights, wrong, row["flagged"]))
    return out


def continuous(w: np.ndarray, rows: Sequence[Row]) -> list[float]:
    out = []
    for row in rows:
        cs = coverages(w, row)
        out.append(sum(c * wt for c, wt in zip(cs, row["weights"], strict=True))
                   / sum(row["weights"]))
    return out


def choose_marks(w: np.ndarray, rows: Sequence[Row]) -> tuple[float, float]:
    targets = [r["target"] for r in rows]
    return max(MARKS, key=lambda m: pearson([float(s) for s in scores(w, rows, *m)], targets))


def report(label: str, w: np.ndarray, marks: tuple[float, float], rows: Sequence[Row]) -> None:
    targets = [r["target"] for r in rows]
    s = [float(x) for x in scores(w, rows, *marks)]
    c = continuous(w, rows)
    auc = roc_auc(s, targets)
    auc_c = roc_auc(c, targets)
    print(f"  {label:<34} n={len(rows):>5}  r(score) {pearson(s, targets):.3f}"
          f"  r(coverage) {pearson(c, targets):.3f}"
          + (f"  AUC {auc:.3f} / {auc_c:.3f}" if auc is not None and auc_c is not None else ""))


def profiles(rows: Sequence[Row], s: Sequence[int]) -> None:
    by: dict[str, list[int]] = {}
    for row, score in zip(rows, s, strict=True):
        by.setdefault(row["profile"], []).append(score)
    for name, values in sorted(by.items()):
        print(f"    {name:<14} n={len(values):>3} mean {sum(values) / len(values):5.2f}"
              f"  >=7 {sum(v >= 7 for v in values) / len(values):4.0%}"
              f"  >5 {sum(v > 5 for v in values) / len(values):4.0%}")


def grouped_cv(judged: Sequence[Row], public: Sequence[Row], public_weight: float = PUBLIC_WEIGHT,
               steps: int = 3000) -> list[int]:
    """Interview dev scores predicted out of fold (folds of whole questions); marks chosen on
    the training folds and the public rows."""
    questions = sorted({r["qid"] for r in judged})
    random.Random(0).shuffle(questions)
    fold = {q: i % FOLDS for i, q in enumerate(questions)}
    predicted: dict[str, int] = {}
    for f in range(FOLDS):
        train = [r for r in judged if fold[r["qid"]] != f]
        test = [r for r in judged if fold[r["qid"]] == f]
        w = fit(train, public, public_weight, steps)
        marks = choose_marks(w, [*train, *public])
        for row, score in zip(test, scores(w, test, *marks), strict=True):
            predicted[row["id"]] = score
    return [predicted[r["id"]] for r in judged]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--semeval", default="semeval", help="the SemEval pickle's name")
    args = parser.parse_args()
    files = {"interview": "interview", "saf": "saf", "semeval": args.semeval}
    load = {name: pickle.loads((args.dir / f"{file}.pkl").read_bytes())
            if (args.dir / f"{file}.pkl").exists() else [] for name, file in files.items()}
    judged = [r for r in load["interview"] if r["split"] == "dev"]
    assert all(r["split"] != "holdout" for r in load["interview"]), "hold-out rows read"
    for public_name in ("none", "semeval", "saf"):
        public = load[public_name] if public_name != "none" else []
        if public_name != "none" and not public:
            continue
        w = fit(judged, public)
        marks = choose_marks(w, [*judged, *public])
        print(f"fit on interview dev + {public_name}: weights {np.round(w, 3).tolist()} "
              f"marks {marks}")
        for chosen in dict.fromkeys([marks, (COVERED_AT, PARTLY_AT)]):
            print(f" marks {chosen}:")
            for name in ("saf", "semeval"):
                if not load[name]:
                    continue
                tag = "in the fit" if name == public_name else "unseen"
                report(f"{name} ({tag})", w, chosen, load[name])
            report("interview dev (in sample)", w, chosen, judged)
            profiles(judged, scores(w, judged, *chosen))
        cv = grouped_cv(judged, public)
        targets = [r["target"] for r in judged]
        r = pearson([float(x) for x in cv], targets)
        print(f"  interview dev, {FOLDS}-fold by question: r {r:.3f}")
        profiles(judged, cv)


if __name__ == "__main__":
    main()
