"""Soft alignment of an answer with key points by contextual vectors (BERTScore-style recall).

For each content word piece of a key point, the most similar word piece of the answer (cosine of
contextual vectors, `bot.grading.encoder`) says how well the answer says that part of the key
point in any words; the weighted mean over the key point's pieces is its *recall*. Weights: a
word the question prompt already says counts QUESTION_WORD_WEIGHT (answers echo the question,
which proves little), function words and punctuation count nothing, and a word cut into several
pieces shares one word's weight among them. The same recall against the whole reference answer,
and the cosine of answer and reference sentence vectors once the question's own direction is
removed from both (an answer about the question's topic is not yet an answer to it), describe
the answer as a whole.

Raw cosines of unrelated MiniLM pieces are not 0 (about 0.2-0.3), so recall is rescaled from
RECALL_BASE (what an unrelated answer of the same topic reaches) to 1, as BERTScore's baseline
rescaling does; the constants are measured on the dev sets (see `bot.grading.offline`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.grading.encoder import Encoded
from bot.grading.text import NEGATORS, STOPWORDS, canonical

QUESTION_WORD_WEIGHT = 0.25


@dataclass(frozen=True)
class Target:
    """A text to be recalled (a key point or the reference): its vectors and piece weights."""

    encoded: Encoded
    weights: np.ndarray  # one per piece, summing to the text's content weight

    @property
    def total(self) -> float:
        return float(self.weights.sum())


def words_of(encoded: Encoded) -> list[tuple[str, list[int]]]:
    """The words of an encoded text (as written) with the indices of their pieces."""
    out: list[tuple[str, list[int]]] = []
    for index, (piece, (start, end)) in enumerate(zip(encoded.pieces, encoded.spans,
                                                      strict=True)):
        if piece.startswith("##") and out:
            indices = out[-1][1]
            out[-1] = (encoded.text[encoded.spans[indices[0]][0]:end], [*indices, index])
        else:
            out.append((encoded.text[start:end], [index]))
    return out


def word_weight(word: str, question_keys: frozenset[str]) -> float:
    """1 for a content word, QUESTION_WORD_WEIGHT for one the question says, 0 otherwise."""
    plain = word.lower()
    if not any(c.isalnum() for c in plain) or plain in STOPWORDS or plain in NEGATORS:
        return 0.0
    return QUESTION_WORD_WEIGHT if canonical(plain) in question_keys else 1.0


def target(encoded: Encoded, question_keys: frozenset[str]) -> Target:
    """Piece weights of a key point or reference (see the module docstring)."""
    weights = np.zeros(len(encoded.pieces), np.float32)
    for word, indices in words_of(encoded):
        weights[indices] = word_weight(word, question_keys) / len(indices)
    return Target(encoded, weights)


def answer_mask(encoded: Encoded) -> np.ndarray:
    """Which answer pieces may be matched: everything but punctuation."""
    return np.array([any(c.isalnum() for c in p) for p in encoded.pieces], dtype=bool)


def best_matches(goal: Target, answer: Encoded, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each piece of `goal`, the cosine of its closest answer piece and that piece's index."""
    if not mask.any() or not len(goal.encoded.pieces):
        size = len(goal.encoded.pieces)
        return np.zeros(size, np.float32), np.zeros(size, np.int64)
    allowed = np.flatnonzero(mask)
    sims = goal.encoded.vectors @ answer.vectors[allowed].T
    best = sims.argmax(axis=1)
    return sims[np.arange(len(best)), best], allowed[best]


def recall(goal: Target, similarities: np.ndarray, enough: float = 1.0) -> float:
    """Weighted mean of the best similarities: how much of `goal` the answer says.

    With `enough` < 1, only the best-matched share `enough` of the goal's weight counts: a key
    point often lists examples or alternatives ("e.g. spam detection") that one answer need not
    all give, as a teacher would not ask for every one.
    """
    total = goal.total
    if total <= 0:
        return 0.0
    if enough >= 1.0:
        return float((goal.weights * similarities).sum() / total)
    order = np.argsort(-similarities)
    weights = goal.weights[order]
    budget = enough * total
    taken = np.minimum(weights, np.maximum(0.0, budget - (np.cumsum(weights) - weights)))
    return float((taken * similarities[order]).sum() / budget)


def without(vector: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """`vector` minus its component along the unit vector `direction`, renormalised."""
    rest = vector - float(vector @ direction) * direction
    return rest / max(float(np.linalg.norm(rest)), 1e-12)


def off_question_cosine(answer: Encoded, reference: Encoded, question: Encoded) -> float:
    """Cosine of answer and reference with the question's direction removed from both."""
    if not len(answer.pieces) or not len(reference.pieces):
        return 0.0
    q = question.mean
    return float(without(answer.mean, q) @ without(reference.mean, q))
