"""The offline grader: rubric coverage from lexical evidence, no network, no model.

What it measures. For every key point of the rubric the grader asks how much of the key point's
content the answer states, word by word: both sides are tokenised, stemmed and folded onto
synonym groups (`bot.grading.text`), stopwords dropped. Each key-point word carries a weight:
words of the question prompt count little (answers echo the question, so echoing proves nothing),
generic words count less than specific ones, and a word that recurs in many key points of one
rubric counts less than one that singles its key point out (an idf over the rubric). The
key point's coverage is the weighted share of its words found in the answer (an inflected or
longer form of the word counts most of a match), blended with the share of its adjacent word
pairs found next to each other in the answer, which rewards stating the idea rather than
scattering its words. Coverage >= 0.6 is "covered", >= 0.3 "partly", below "missed"; the score
is `compute_score` (the one DESIGN.md formula), so offline and LLM scores compare.

Contradiction. A statement that flips the key point's polarity ("not connected" against
"connected", "decreases" against "increases") is the opposite of the key point, not evidence for
it: when the answer clause that best matches a reference statement has the other polarity
(negators and antonym pairs counted together, so "separated" agrees with "not connected"), the
key points of that statement get no credit. Offline misconceptions stay empty: a polarity flip is
the only cheap signal of a wrong statement and it is already priced in as a missed key point;
counting it again as a misconception would charge a noisy lexical guess twice.

Floors. Empty, whitespace-only, "idk"/"N/A"-style non-answers, answers under 4 words and copies
of the question (no content word beyond the prompt's) score 0 without further work.

Known limits. A lexical grader rewards words, not understanding: an answer that names every
concept in the wrong relation, or paraphrases a key point in other words, is misjudged. Keyword
stuffing is the obvious attack; it is damped because a bare list of terms has almost no function
words (prose has 40-50 %), and such an answer's coverage is cut by a third, so it cannot reach 10.
Injection attempts are handled by the shared pre-filter: flagged text is removed before grading
and the score is capped at 5.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from bot.grading.base import Grade, GradeRequest, Judgment, compute_score
from bot.grading.prefilter import scan, strip_flagged
from bot.grading.text import (
    Token,
    clauses,
    content_tokens,
    negation_count,
    normalise,
    sentences,
    stopword_share,
    words,
)
from bot.packs import KeyPoint

#: A word of the question prompt is worth this much of a word the question does not give away.
QUESTION_WORD_WEIGHT = 0.25
#: Generic content words: they occur in any answer, so they say little about a key point.
GENERIC_WEIGHT = 0.5
GENERIC_WORDS: frozenset[str] = frozenset(
    """thing things way ways time times make makes made get gets got good bad well many much
    lot lots kind kinds type types part parts case cases example important example also example
    able work works working like need needs other another different certain each every
    something someone done give given take takes mean means called call""".split()
)
#: A longer or inflected form of a word ("transmission" for "transmitter") counts this much.
PREFIX_MATCH = 0.7
PREFIX_LEN = 5
#: How coverage blends word matches with adjacent-pair matches.
PAIR_SHARE = 0.2
COVERED_AT = 0.6
PARTLY_AT = 0.3
#: Below this share of function words (with at least STUFFING_MIN_WORDS words) an answer reads
#: as a list of keywords, and its coverage is multiplied by STUFFING_FACTOR.
STUFFING_SHARE = 0.15
STUFFING_MIN_WORDS = 8
STUFFING_FACTOR = 0.67
MIN_WORDS = 4
#: Share of the answer's content words that must be new (not in the prompt) for it not to be a
#: copy of the question.
COPY_NEW_SHARE = 0.15
NON_ANSWER = re.compile(
    r"^\W*(?:n/?a|idk|i\s+(?:do\s*n[o']?t|dont)\s+know|no\s+idea|pass|skip|dunno|not\s+sure"
    r"|no\s+clue|i\s+give\s+up|nothing|none|no\s+answer|\?+|-+|\.+|i\s+have\s+no\s+idea"
    r"|i\s+(?:am|'m)\s+not\s+sure|don'?t\s+know|no\s+comment)\W*$"
)


@dataclass(frozen=True)
class _Point:
    """A key point prepared for matching: its weighted words, pairs and reference statement."""

    key_point: KeyPoint
    weights: dict[str, float]
    pairs: frozenset[frozenset[str]]
    statement: int  # index of the reference statement it restates, for the contradiction check


@dataclass(frozen=True)
class _Statement:
    """A sentence of the reference (or a key point standing alone) and its polarity."""

    keys: frozenset[str]
    signs: dict[str, int]
    negated: bool


@dataclass(frozen=True)
class _Rubric:
    """Everything the grader derives from a question and its key points, cached per rubric."""

    question_keys: frozenset[str]
    points: tuple[_Point, ...]
    statements: tuple[_Statement, ...]


@dataclass(frozen=True)
class _Answer:
    """Everything the grader derives from one answer text."""

    keys: frozenset[str]
    prefixes: frozenset[str]
    pairs: frozenset[frozenset[str]]
    clauses: tuple[_Statement, ...]
    stuffed: bool


@dataclass(frozen=True)
class Assessment:
    """Per-key-point coverage in [0, 1] (after penalties) or the floor that stopped grading."""

    coverages: tuple[float, ...]
    floor: str | None = None


def _pairs(tokens: Sequence[Token], window: int) -> frozenset[frozenset[str]]:
    """Unordered pairs of content words standing within `window` words of each other."""
    keys = [t.key for t in tokens]
    return frozenset(
        frozenset((a, b))
        for i, a in enumerate(keys)
        for b in keys[i + 1 : i + 1 + window]
        if a != b
    )


def _statement(text: str) -> _Statement:
    """Read a sentence's content words, the signs of its antonym words and its negation."""
    tokens = content_tokens(text)
    return _Statement(
        keys=frozenset(t.key for t in tokens),
        signs={t.key: t.sign for t in tokens},
        negated=negation_count(text) % 2 == 1,
    )


def _squash(text: str) -> str:
    return " ".join(words(text))


def _statement_index(text: str, reference_sentences: Sequence[str]) -> int:
    """The reference sentence a key point was cut from, or -1 when it stands on its own."""
    needle = _squash(text)
    for index, sentence in enumerate(reference_sentences):
        if needle and needle in _squash(sentence):
            return index
    return -1


def _point_weights(tokens: Sequence[Token], question_keys: frozenset[str],
                   rubric_df: Counter[str], n_points: int) -> dict[str, float]:
    """Importance of each word of a key point (see the module docstring)."""
    weights: dict[str, float] = {}
    for token in tokens:
        weight = math.log(1 + n_points / rubric_df[token.key]) / math.log(1 + n_points)
        if token.key in question_keys:
            weight *= QUESTION_WORD_WEIGHT
        if token.surface in GENERIC_WORDS:
            weight *= GENERIC_WEIGHT
        weights[token.key] = max(weights.get(token.key, 0.0), weight)
    return weights


@lru_cache(maxsize=512)
def _rubric(prompt: str, reference: str, key_points: tuple[KeyPoint, ...]) -> _Rubric:
    """Prepare a rubric once: graders see the same question for many answers."""
    question_keys = frozenset(t.key for t in content_tokens(prompt))
    reference_sentences = sentences(reference)
    point_tokens = [content_tokens(kp.text) for kp in key_points]
    rubric_df: Counter[str] = Counter(k for toks in point_tokens for k in {t.key for t in toks})
    statements = [_statement(s) for s in reference_sentences]
    points: list[_Point] = []
    for kp, tokens in zip(key_points, point_tokens, strict=True):
        index = _statement_index(kp.text, reference_sentences)
        if index < 0:
            statements.append(_statement(kp.text))
            index = len(statements) - 1
        weights = _point_weights(tokens, question_keys, rubric_df, len(key_points))
        points.append(_Point(kp, weights, _pairs(tokens, 1), index))
    return _Rubric(question_keys, tuple(points), tuple(statements))


def _read_answer(answer: str) -> _Answer:
    tokens = content_tokens(answer)
    keys = frozenset(t.key for t in tokens)
    n_words = len(words(answer))
    return _Answer(
        keys=keys,
        prefixes=frozenset(k[:PREFIX_LEN] for k in keys if len(k) > PREFIX_LEN),
        pairs=_pairs(tokens, 2),
        clauses=tuple(_statement(c) for c in clauses(answer)),
        stuffed=n_words >= STUFFING_MIN_WORDS and stopword_share(answer) < STUFFING_SHARE,
    )


def _word_match(key: str, answer: _Answer) -> float:
    if key in answer.keys:
        return 1.0
    if len(key) > PREFIX_LEN and key[:PREFIX_LEN] in answer.prefixes:
        return PREFIX_MATCH
    return 0.0


def _point_coverage(point: _Point, answer: _Answer) -> float:
    """Weighted share of the key point's words in the answer, blended with its word pairs."""
    total = sum(point.weights.values())
    if total <= 0:
        return 0.0
    words_found = sum(w * _word_match(k, answer) for k, w in point.weights.items()) / total
    if not point.pairs:
        return words_found
    pairs_found = len(point.pairs & answer.pairs) / len(point.pairs)
    return (1 - PAIR_SHARE) * words_found + PAIR_SHARE * pairs_found


def _polarity(statement: _Statement, shared: frozenset[str]) -> bool:
    """True when the statement, read on the shared words, says the negative."""
    flips = sum(1 for k in shared if statement.signs.get(k, 1) < 0)
    return (flips + statement.negated) % 2 == 1


def _contradicts(statement: _Statement, answer: _Answer) -> bool:
    """Does the answer clause closest to this statement say its opposite?

    Only a clause that shares at least half of the statement's words (and at least two) is
    compared, so a negation about something else does not count against the key point.
    """
    if not statement.keys:
        return False
    best = max(answer.clauses, key=lambda c: len(c.keys & statement.keys), default=None)
    if best is None:
        return False
    shared = best.keys & statement.keys
    if len(shared) < 2 or 2 * len(shared) < len(statement.keys):
        return False
    return _polarity(best, shared) != _polarity(statement, shared)


def _floor(question_keys: frozenset[str], answer: str) -> str | None:
    """Why an answer scores 0 without grading, or None when it deserves a look."""
    text = normalise(answer).strip()
    if not text:
        return "The answer is empty."
    if NON_ANSWER.match(text):
        return "That is not an answer yet: say what you know, even if it is partial."
    if len(words(text)) < MIN_WORDS:
        return "The answer is too short to show understanding: explain it in a few sentences."
    keys = [t.key for t in content_tokens(text)]
    new = sum(1 for k in keys if k not in question_keys)
    if keys and new < COPY_NEW_SHARE * len(keys) + 0.5:
        return "The answer repeats the question: say what you know about it."
    return None


def _credit(coverage: float) -> float:
    if coverage >= COVERED_AT:
        return 1.0
    return 0.5 if coverage >= PARTLY_AT else 0.0


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


class OfflineGrader:
    """Grades against the rubric from lexical evidence only (see the module docstring)."""

    name = "offline"
    version = "1"

    def assess(self, request: GradeRequest) -> Assessment:
        """Coverage of each key point of `request.rubric`, on the answer minus flagged text."""
        question = request.question
        rubric = _rubric(question.prompt, question.reference_answer or "", request.rubric)
        answer = strip_flagged(request.answer)
        floor = _floor(rubric.question_keys, answer)
        if floor is not None:
            return Assessment(tuple(0.0 for _ in rubric.points), floor)
        read = _read_answer(answer)
        contradicted = {
            i for i, s in enumerate(rubric.statements) if _contradicts(s, read)
        }
        factor = STUFFING_FACTOR if read.stuffed else 1.0
        return Assessment(tuple(
            0.0 if p.statement in contradicted else factor * _point_coverage(p, read)
            for p in rubric.points
        ))

    def coverage(self, request: GradeRequest) -> float:
        """The continuous grade in [0, 1]: weighted mean key-point coverage (0 on a floor).

        `grade` rounds the same per-key-point values into credits; evaluation correlates both.
        """
        points = request.rubric
        total = sum(kp.weight for kp in points)
        values = self.assess(request).coverages
        return sum(kp.weight * v for kp, v in zip(points, values, strict=True)) / total

    async def grade(self, request: GradeRequest) -> Grade:
        """Grade one answer; pure CPU, deterministic."""
        flags = scan(request.answer)
        assessment = self.assess(request)
        judgments = [
            Judgment(key_point=kp.text, credit=_credit(c))
            for kp, c in zip(request.rubric, assessment.coverages, strict=True)
        ]
        weights = {kp.text: kp.weight for kp in request.rubric}
        score = compute_score(judgments, weights, 0, bool(flags))
        by_credit = {c: [j.key_point for j in judgments if j.credit == c] for c in (1.0, 0.5, 0.0)}
        return Grade(
            score=score,
            covered=by_credit[1.0],
            partly=by_credit[0.5],
            missed=by_credit[0.0],
            feedback=_feedback(assessment.floor, judgments, weights, bool(flags)),
            flagged=bool(flags),
            flags=flags,
            grader=self.name,
            grader_version=self.version,
            graded_at=datetime.now(UTC),
        )


def _feedback(floor: str | None, judgments: Sequence[Judgment], weights: dict[str, float],
              flagged: bool) -> str:
    """1-3 plain sentences: what was covered and the most important key point missed."""
    parts: list[str] = []
    if floor is not None:
        parts.append(floor)
    else:
        covered = [j.key_point for j in judgments if j.credit == 1.0]
        if covered:
            parts.append("You covered: " + "; ".join(_short(k, 60) for k in covered[:2]) + ".")
        open_points = [j for j in judgments if j.credit < 1.0]
        if open_points:
            top = max(open_points, key=lambda j: (weights.get(j.key_point, 1.0), -j.credit))
            verb = "Expand on" if top.credit else "The most important point you missed"
            parts.append(f"{verb}: {_short(top.key_point)}.")
        else:
            parts.append("Every key point is there.")
    if flagged:
        parts.append("Parts of the answer addressed the grader; they were ignored and the score "
                     "is capped at 5.")
    return " ".join(parts[:3])
