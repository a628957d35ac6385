"""Dump the raw alignment material of the offline grader on a dev set, for `tune_offline.py`.

Per answer: the grader's own `Features.row` inputs per key point (what ships), the lexical
evidence (coverage, contradiction, keyword-list flag), the floor, and the raw material from
which other alignment features can be computed without running the model again: each key
point's piece-by-answer-piece cosine matrix (float16) and piece weights, each answer piece's
sentence, the answer's, question's and reference's sentence vectors, and per answer sentence
its mean piece vector. Labels ride along only so the fit can read them.

    python evaluation/offline_raw.py NAME CSV OUT.pkl [--sample N] [--split dev]

The hold-out questions of the interview set are refused: pass `--split dev`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.grading import semantic
from bot.grading.base import GradeRequest
from bot.grading.encoder import shared
from bot.grading.floors import floor_of
from bot.grading.lexical import lexical
from bot.grading.offline import OfflineGrader, _measure, sentence_bounds
from bot.grading.prefilter import scan, strip_flagged
from evaluation.offline_features import dump


def raw(grader: OfflineGrader, request: GradeRequest) -> dict[str, Any]:
    """The material of one answer (see the module docstring)."""
    question = request.question
    points = request.rubric
    flags = tuple(scan(request.answer))
    text = strip_flagged(request.answer) if flags else request.answer
    out: dict[str, Any] = {"flagged": bool(flags), "floor": False, "rows": None,
                           "contradicted": [False] * len(points), "stuffed": False}
    if floor_of(question.prompt, request.answer) is not None:
        out["floor"] = True
        return out
    reference = question.reference_answer or ""
    rubric = grader._rubric(question.prompt, reference, points)
    answer = shared().encode(text)
    words = lexical(question.prompt, reference, points, text)
    features, _ = _measure(rubric, answer, words)
    mask = semantic.answer_mask(answer)
    bounds = sentence_bounds(text)
    sentence_of = np.full(len(answer.pieces), -1, np.int16)
    for s, (a, b) in enumerate(bounds):
        for i, (x, y) in enumerate(answer.spans):
            if x >= a and y <= b:
                sentence_of[i] = s
    sentence_means = []
    for s in range(len(bounds)):
        inside = (sentence_of == s) & mask
        v = (answer.vectors[inside].mean(axis=0) if inside.any()
             else np.zeros(answer.vectors.shape[1]))
        sentence_means.append(v / max(float(np.linalg.norm(v)), 1e-12))
    out.update({
        "rows": [features.row(k) for k in range(len(points))],
        "lexical": list(words.coverages),
        "contradicted": list(words.contradicted),
        "stuffed": words.stuffed,
        "pieces": list(answer.pieces),
        "mask": mask,
        "sentence_of": sentence_of,
        "sims": [(p.encoded.vectors @ answer.vectors.T).astype(np.float16) for p in rubric.points],
        "kp_weights": [p.weights for p in rubric.points],
        "kp_pieces": [list(p.encoded.pieces) for p in rubric.points],
        "kp_means": np.stack([p.encoded.mean for p in rubric.points]) if points else None,
        "ref_sims": [(r.encoded.vectors @ answer.vectors.T).astype(np.float16)
                     for r in rubric.references],
        "ref_weights": [r.weights for r in rubric.references],
        "answer_mean": answer.mean, "question_mean": rubric.question.mean,
        "reference_mean": rubric.reference.encoded.mean,
        "sentence_means": np.stack(sentence_means) if sentence_means else None,
        "n_words": len(text.split()),
    })
    return out


if __name__ == "__main__":
    dump(raw, tuning=True)
