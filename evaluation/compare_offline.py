"""Compare candidate alignment features and training data for the offline grader, out of sample.

Reads the pickles of `offline_raw.py` (the interview set's dev split, SAF v2, a SemEval-2013
sample), derives extra per-key-point features from the stored cosine matrices (no model run),
and for each candidate feature set fits the logistic blend of `tune_offline.py` three ways:

- interview dev judgments only: interview r by 6-fold CV grouped by question, SAF and SemEval
  unseen;
- interview dev + SAF (public weight `--public-weight`): SemEval unseen;
- interview dev + SemEval: SAF unseen; and the interview CV with both public sets in every fold
(each public set enters a fit as a seeded sample of `--public-sample` answers; the figures on
it are measured on all the answers of the pickle).

Every figure printed is out of sample. The hold-out questions are never read (`offline_raw.py`
refuses them). Features (per key point; "recall" is BERTScore-style, rescaled as the grader does):

    rec75    recall of the key point, best 75 % of its weight (the grader's `Features.row`)
    lex      lexical coverage (the grader's)
    refrec   recall of the reference (the grader's)
    offq     answer-vs-reference cosine, question direction removed (the grader's)
    rec1     recall over all of the key point's weight
    sentrec  best recall of the key point within one answer sentence
    cos_s    best cosine of the key point's vector and an answer sentence's mean piece vector
    kpoff    answer-vs-key-point cosine, question direction removed
    idf      rec75 with each piece's weight times its IDF (smoothed, log), document frequency
             counted over the key points of every question in the three pickles (no labels)

    python evaluation/compare_offline.py DIR [--public-weight 0.3]
"""

from __future__ import annotations

import argparse
import math
import pickle
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tune_offline import FOLDS, choose_marks, fit, grouped_cv, scores

from bot.grading import semantic
from bot.grading.evaluate import pearson, roc_auc
from bot.grading.offline import ENOUGH, _rescale

Row = dict[str, Any]
SETS = {
    "shipped": ("rec75", "lex", "refrec", "offq"),
    "+sentence recall, key-point cosine": ("rec75", "sentrec", "lex", "refrec", "offq", "kpoff"),
    "+best sentence cosine": ("rec75", "lex", "refrec", "offq", "cos_s"),
    "IDF-weighted recall": ("idf", "lex", "refrec", "offq"),
}


def _recall(weights: np.ndarray, sims: np.ndarray) -> float:
    """`semantic.recall` of a key point from its stored weights (it reads nothing else)."""
    return semantic.recall(semantic.Target(None, weights), sims, ENOUGH)  # type: ignore[arg-type]


def idf_table(sets: Sequence[Sequence[Row]]) -> dict[str, float]:
    """Smoothed IDF of each word piece over the key points of the questions (one document per
    key point, each question counted once)."""
    frequency: Counter[str] = Counter()
    documents = 0
    seen: set[tuple[str, str]] = set()
    for rows in sets:
        for r in rows:
            if r["rows"] is None or (r["set"], r["qid"]) in seen:
                continue
            seen.add((r["set"], r["qid"]))
            for pieces in r["kp_pieces"]:
                documents += 1
                frequency.update(set(pieces))
    return {p: math.log((documents + 1) / (n + 1)) + 1 for p, n in frequency.items()}


def features(row: Row, idf: dict[str, float]) -> list[dict[str, float]] | None:
    """Every candidate feature of each key point of one answer (see the module docstring)."""
    if row["rows"] is None:
        return None
    mask, sentence_of = row["mask"], row["sentence_of"]
    question = row["question_mean"]
    answer_off = semantic.without(row["answer_mean"], question)
    n_sentences = int(sentence_of.max()) + 1 if len(sentence_of) else 0
    out = []
    for k, (sims, weights) in enumerate(zip(row["sims"], row["kp_weights"], strict=True)):
        sims = sims.astype(np.float32)
        rec75, lex, refrec, offq = row["rows"][k]
        best = sims[:, mask].max(axis=1) if mask.any() and len(sims) else np.zeros(len(sims))
        by_sentence = [_recall(weights, sims[:, mask & (sentence_of == s)].max(axis=1))
                       for s in range(n_sentences) if (mask & (sentence_of == s)).any()]
        rare = weights * np.array([idf.get(p, 1.0) for p in row["kp_pieces"][k]], np.float32)
        point = row["kp_means"][k]
        means = row["sentence_means"]
        out.append({
            "rec75": rec75, "lex": lex, "refrec": refrec, "offq": offq,
            "rec1": _rescale(float((weights * best).sum() / max(float(weights.sum()), 1e-12))),
            "sentrec": _rescale(max(by_sentence, default=0.0)),
            "cos_s": float((means @ point).max()) if means is not None else 0.0,
            "kpoff": float(answer_off @ semantic.without(point, question)),
            "idf": _rescale(_recall(rare, best)),
        })
    return out


def project(rows: Sequence[Row], names: Sequence[str]) -> list[Row]:
    """The rows with `rows` (the fit's inputs) replaced by the named features."""
    return [{**r, "rows": None if r["all"] is None else [[f[n] for n in names] for f in r["all"]]}
            for r in rows]


def measured(w: np.ndarray, marks: tuple[float, float], rows: Sequence[Row]) -> str:
    """Pearson r of the integer scores (and ROC-AUC for a binary target)."""
    targets = [r["target"] for r in rows]
    s = [float(x) for x in scores(w, rows, *marks)]
    auc = roc_auc(s, targets) if set(targets) <= {0.0, 1.0} else None
    return f"{pearson(s, targets):.3f}" + (f" / {auc:.3f}" if auc is not None else "")


def profiles(rows: Sequence[Row], s: Sequence[int]) -> str:
    by: dict[str, list[int]] = {}
    for row, score in zip(rows, s, strict=True):
        by.setdefault(row["profile"], []).append(score)
    return ", ".join(f"{p} {sum(v) / len(v):.2f}" for p, v in sorted(by.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--public-weight", type=float, default=0.3)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--public-sample", type=int, default=1000,
                        help="answers of each public set in a fit (seeded); figures use all")
    args = parser.parse_args()
    load = {name: pickle.loads((args.dir / f"{name}.pkl").read_bytes())
            for name in ("interview", "saf", "semeval")}
    assert all(r["split"] == "dev" for r in load["interview"]), "hold-out rows read"
    for rows in load.values():
        for r in rows:
            r.setdefault("rows", None)  # a floored answer (pickles of an older offline_raw.py)
            r.setdefault("contradicted", [False] * len(r["weights"]))
            r.setdefault("stuffed", False)
    idf = idf_table(list(load.values()))
    for rows in load.values():
        for r in rows:
            r["all"] = features(r, idf)
    pw, steps = args.public_weight, args.steps
    fitted = {n: random.Random(0).sample(load[n], min(args.public_sample, len(load[n])))
              for n in ("saf", "semeval")}
    for label, names in SETS.items():
        judged, saf, sem = (project(load[n], names) for n in ("interview", "saf", "semeval"))
        fit_saf, fit_sem = (project(fitted[n], names) for n in ("saf", "semeval"))
        targets = [r["target"] for r in judged]
        print(f"{label}: {', '.join(names)}")
        w = fit(judged, [], steps=steps)
        marks = choose_marks(w, judged)
        cv = grouped_cv(judged, [], steps=steps)
        print(f"  interview only: interview {FOLDS}-fold r "
              f"{pearson([float(x) for x in cv], targets):.3f} ({profiles(judged, cv)}); "
              f"SAF {measured(w, marks, saf)}; SemEval {measured(w, marks, sem)}")
        w = fit(judged, fit_saf, pw, steps)
        with_saf = measured(w, choose_marks(w, [*judged, *fit_saf]), sem)
        w = fit(judged, fit_sem, pw, steps)
        with_sem = measured(w, choose_marks(w, [*judged, *fit_sem]), saf)
        cv = grouped_cv(judged, [*fit_saf, *fit_sem], pw, steps)
        print(f"  + SAF: SemEval {with_saf}; + SemEval: SAF {with_sem}; + both: interview "
              f"{FOLDS}-fold r {pearson([float(x) for x in cv], targets):.3f} "
              f"({profiles(judged, cv)})", flush=True)


if __name__ == "__main__":
    main()
