"""Lexical evidence for the offline grader: key-point words in the answer, contradiction, stuffing.

The offline grader (`bot.grading.offline`) blends this with a language model's soft alignment:
exact technical terms stay decisive, and the polarity and keyword-list checks below stand in
front of the model, which cannot tell "is connected" from "is not connected".

What it measures. For each key point of the rubric, how much of the key point's content the
answer states. Three kinds of evidence are blended (1:1:2): the key point's content words found
in the answer exactly (tokenised, stemmed and folded onto synonym groups by `bot.grading.text`,
stopwords dropped); the same words allowing near-spellings (each key-point word's closest answer
word by trigram Dice similarity, >= 0.3, words of 5+ letters: typos, inflections, derivations);
and the key point's character trigrams anywhere in the answer (compounds and hyphenation,
"self-clocking"). Each word or trigram carries a weight: what the question prompt already says
counts a quarter (answers echo the question, so echoing proves little), a word shared by many key
points of one rubric counts less than one that singles its key point out (an idf over the
rubric), and the commonest English trigrams ("ing", "ion", " th") count a fifth. Coverage
saturates: about eight words' worth of a long key point covers it, since a key point cut from a
reference sentence can list more facts than one answer needs. On its own (wave 1's grader) this
reached Pearson r 0.33 on SAF v2 and 0.44 (ROC-AUC 0.75) on SemEval-2013.

Contradiction. Words are not enough when the answer says the opposite: "terminal 1 is connected
to the positive terminal" shares every word with "terminal 1 and the positive terminal are
separated". Each reference clause is cut into propositions (at punctuation and conjunctions);
the answer proposition closest to each is compared, counting negators and antonym flips
("separated" is "connected" with the opposite sign) on both sides. An odd count is a
contradiction, so "not connected" agrees with "separated" and "a shorter string gives a higher
pitch" agrees with "a longer string gives a lower pitch". The key points of a contradicted clause
get no credit, unless the same answer proposition agrees at least as closely with another part
of the reference (references state one fact from both sides, or list alternatives).
Each key point's own statement is checked as well as the reference clauses it restates.
The offline grader charges a contradiction as one misconception.

Known limits. Words are not understanding: an answer that says a key point in other words gets
little lexical credit (the model's part of the blend is there for that). Keyword stuffing is the
obvious attack: a bare list of terms has almost no function words (prose has 40-50 %), so such
an answer is marked `stuffed` and the grader lets none of its key points count as more than
"partly". Padding is the subtler one: trigrams found "anywhere in the answer" also come from
unrelated words, so a longer answer collects some credit by chance. That is why near-spellings
are judged word by word and common trigrams count little; appending a generic 30-word sentence
still adds about 0.3 points on average to the lexical grade (0.6 when the filler holds on-topic
words such as "system" or "performance"), where trigrams alone gave 0.6 and 1.0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from bot.grading.text import (
    BREAK,
    Proposition,
    Token,
    char_grams,
    clauses,
    content_of,
    gram_set,
    propositions,
    stopword_share,
    tokens,
    words,
)
from bot.packs import KeyPoint

#: A word (or trigram) of the question prompt is worth this much of one the prompt lacks.
QUESTION_WORD_WEIGHT = 0.25
#: The evidence blend: exact (stemmed) words, each key-point word's closest answer word by
#: trigram similarity, and the key point's trigrams anywhere in the answer.
WORD_SHARE, FUZZY_SHARE, GRAM_SHARE = 0.25, 0.25, 0.5
GRAM = 3
#: A key-point word counts as (partly) said when an answer word of at least FUZZY_MIN_LEN
#: letters reaches this trigram Dice similarity with it; shorter words must match exactly.
FUZZY_AT = 0.3
FUZZY_MIN_LEN = 5
#: The commonest English trigrams ("ing", "ion", " th") turn up in any text: a match on one is
#: weak evidence, and a padded answer would collect them by chance.
COMMON_GRAM_WEIGHT = 0.2
COMMON_GRAMS: frozenset[str] = frozenset(
    """the and ing ion tio ent ati for her ter hat tha ere ate his con res ver all ons nce men
    ith ted ers pro thi wit are ess not ive was ect rea com eve per int est sta cti ica ist ear
    ain one our iti rat ble ity nte str ste tra ani der ove ame red ned ran ide pre ser tin ced
    lin ort ous sti cal nal man pla ind""".split()
) | frozenset(
    [" th", "ng ", "ed ", "es ", "ly ", " co", " in", " re", "er ", " pr", "al ", " de", "nt ",
     "on ", "ts ", "rs ", "te ", "se ", "ce ", "le ", "ne ", " st", " di", " ex", " wh", " ma",
     " pa", " ca", " tr", " se", " fo", " be", " mo", " un", " ha", " al", "ty ", "ns ", "ry ",
     "st ", "re ", "at ", "ic ", "is ", "ve ", "ge ", "ds "]
)
#: A key point is covered by this much weighted content, however long it is; one word is about
#: GRAMS_PER_WORD trigrams.
WORDS_ENOUGH = 8.0
GRAMS_PER_WORD = 7
COVERED_AT = 0.6
PARTLY_AT = 0.3
#: Below this share of function words (with at least STUFFING_MIN_WORDS words) an answer reads
#: as a list of keywords: no key point of it counts as more than STUFFING_CAP covered ("partly").
STUFFING_SHARE = 0.15
STUFFING_MIN_WORDS = 8
STUFFING_CAP = 0.5


@dataclass(frozen=True)
class _Point:
    """A key point prepared for matching."""

    key_point: KeyPoint
    weights: dict[str, float]  # content word key -> weight
    spellings: dict[str, str]  # content word key -> the word as written
    grams: dict[str, float]  # character trigram -> weight
    clauses: tuple[int, ...]  # the reference clauses it restates, for the contradiction check

    @cached_property
    def word_total(self) -> float:
        return sum(self.weights.values())

    @cached_property
    def gram_total(self) -> float:
        return sum(self.grams.values())

    @cached_property
    def gram_keys(self) -> frozenset[str]:
        return frozenset(self.grams)


@dataclass(frozen=True)
class _Rubric:
    """Everything derived from a question and its key points, cached per rubric."""

    question_keys: frozenset[str]
    points: tuple[_Point, ...]
    clauses: tuple[tuple[Proposition, ...], ...]
    propositions: tuple[Proposition, ...]


class _Answer:
    """Everything derived from one answer text; its propositions only when first needed (most
    answers share too little with any reference clause to need the contradiction check)."""

    def __init__(self, answer: str) -> None:
        self.tokens = tokens(answer)
        self.words = tuple(t for t in self.tokens if t != BREAK)
        self.content = tuple(content_of(self.words))
        self.keys = frozenset(t.key for t in self.content)
        self.grams = frozenset(_grams_of(self.content))
        self.closest: dict[str, float] = {}  # key-point word -> `_closest_word`, memoised

    @cached_property
    def surfaces(self) -> frozenset[str]:
        return frozenset(t.surface for t in self.content)

    @cached_property
    def by_initial(self) -> dict[str, list[str]]:
        """The answer's words (as written) by first letter: near-spellings keep their first
        letter (typos, inflections, derivations), so only those are compared."""
        found: dict[str, list[str]] = {}
        for surface in self.surfaces:
            found.setdefault(surface[0], []).append(surface)
        return found

    @cached_property
    def propositions(self) -> tuple[Proposition, ...]:
        return tuple(propositions(self.tokens))

    @cached_property
    def postings(self) -> dict[str, tuple[int, ...]]:
        """Content word key -> indices of the propositions holding it."""
        found: dict[str, list[int]] = {}
        for index, prop in enumerate(self.propositions):
            for key in prop.keys:
                found.setdefault(key, []).append(index)
        return {k: tuple(v) for k, v in found.items()}


@dataclass(frozen=True)
class Lexical:
    """Per-key-point lexical coverage in [0, 1] (stuffing cap applied), which key points a
    statement of the answer contradicts, and whether the answer reads as a keyword list."""

    coverages: tuple[float, ...]
    contradicted: tuple[bool, ...]
    stuffed: bool


def _grams_of(content: Sequence[Token]) -> set[str]:
    """Character trigrams of the content words (surface forms: trigrams do their own stemming)."""
    out: set[str] = set()
    for token in content:
        out.update(char_grams(token.surface, GRAM))
    return out


def _squash(text: str) -> str:
    return " ".join(words(text))


def _clause_indices(text: str, reference_clauses: Sequence[str]) -> tuple[int, ...]:
    """The reference clauses a key point restates: the first it lies within, else all that lie
    within it (a key point merged from several clauses); () for a key point of its own."""
    needle = _squash(text)
    if not needle:
        return ()
    hays = [_squash(c) for c in reference_clauses]
    within = next((i for i, hay in enumerate(hays) if needle in hay), None)
    if within is not None:
        return (within,)
    return tuple(i for i, hay in enumerate(hays) if hay and hay in needle)


def _word_weights(content: Sequence[Token], question_keys: frozenset[str],
                  rubric_df: Counter[str], n_points: int) -> dict[str, float]:
    """Weight of each content word of a key point: idf over the rubric, prompt words discounted."""
    weights: dict[str, float] = {}
    for token in content:
        weight = math.log(1 + n_points / rubric_df[token.key]) / math.log(1 + n_points)
        if token.key in question_keys:
            weight *= QUESTION_WORD_WEIGHT
        weights[token.key] = weight
    return weights


@lru_cache(maxsize=512)
def _rubric(prompt: str, reference: str, key_points: tuple[KeyPoint, ...]) -> _Rubric:
    """Prepare a rubric once: a grader sees the same question for many answers."""
    prompt_words = words(prompt)
    prompt_content = content_of(prompt_words)
    question_keys = frozenset(t.key for t in prompt_content)
    question_grams = frozenset(_grams_of(prompt_content))
    reference_clauses = clauses(reference)
    clause_props = [tuple(propositions(tokens(c))) for c in reference_clauses]
    point_content = [content_of(words(kp.text)) for kp in key_points]
    rubric_df: Counter[str] = Counter(k for content in point_content
                                      for k in {t.key for t in content})
    points: list[_Point] = []
    for kp, content in zip(key_points, point_content, strict=True):
        # The key point's own statement is checked too: the reference clauses it was matched
        # to may state only part of it ("PUT ... is idempotent; DELETE is idempotent too").
        indices = (*_clause_indices(kp.text, reference_clauses), len(clause_props))
        clause_props.append(tuple(propositions(tokens(kp.text))))
        grams = {g: (QUESTION_WORD_WEIGHT if g in question_grams else 1.0)
                 * (COMMON_GRAM_WEIGHT if g in COMMON_GRAMS else 1.0) for g in _grams_of(content)}
        weights = _word_weights(content, question_keys, rubric_df, len(key_points))
        spellings = {t.key: t.surface for t in reversed(content)}
        points.append(_Point(kp, weights, spellings, grams, indices))
    return _Rubric(
        question_keys=question_keys,
        points=tuple(points),
        clauses=tuple(clause_props),
        propositions=tuple(p for props in clause_props for p in props),
    )


def _gram_share(point: _Point, answer: _Answer) -> float:
    """Weighted share of the key point's trigrams found anywhere in the answer (saturating)."""
    if point.gram_total <= 0:
        return 0.0
    found = sum(point.grams[g] for g in point.gram_keys & answer.grams)
    return min(1.0, found / min(point.gram_total, WORDS_ENOUGH * GRAMS_PER_WORD))


def _closest_word(word: str, answer: _Answer) -> float:
    """Dice similarity of trigram sets between a key-point word and its closest answer word."""
    if len(word) < FUZZY_MIN_LEN:
        return 0.0
    known = answer.closest.get(word)
    if known is None:
        mine = gram_set(word, GRAM)
        if 2 * len(mine & answer.grams) < FUZZY_AT * (len(mine) + GRAM):
            answer.closest[word] = 0.0  # too few of its trigrams anywhere: no near-spelling
            return 0.0
        candidates = answer.by_initial.get(word[0], ())
        known = max((_dice(mine, gram_set(a, GRAM)) for a in candidates), default=0.0)
        answer.closest[word] = known
    return known


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b))


def _word_shares(point: _Point, answer: _Answer) -> tuple[float, float]:
    """Weighted shares of the key point's words in the answer: exactly (stemmed, synonyms
    folded), and allowing near-spellings (saturating, see WORDS_ENOUGH)."""
    if point.word_total <= 0:
        return 0.0, 0.0
    exact = near = 0.0
    for key, weight in point.weights.items():
        if key in answer.keys:
            exact += weight
            near += weight
            continue
        similarity = _closest_word(point.spellings[key], answer)
        if similarity >= FUZZY_AT:
            near += weight * similarity
    enough = min(point.word_total, WORDS_ENOUGH)
    return min(1.0, exact / enough), min(1.0, near / enough)


def _point_coverage(point: _Point, answer: _Answer) -> float:
    """The blend of the three kinds of evidence for one key point, in [0, 1]."""
    exact, near = _word_shares(point, answer)
    return WORD_SHARE * exact + FUZZY_SHARE * near + GRAM_SHARE * _gram_share(point, answer)


def _disagree(a: Proposition, b: Proposition) -> bool | None:
    """Whether two propositions about the same thing say opposite things; None if unrelated.

    Related means sharing at least two content words and at least half of `b`'s. They disagree
    when the negations of both and the antonym flips of the shared words add up to an odd number.
    """
    shared = a.keys & b.keys
    if len(shared) < 2 or 2 * len(shared) < len(b.keys):
        return None
    flips = sum(1 for k in shared if not (a.signs[k] & b.signs[k]))
    return (flips + a.negated + b.negated) % 2 == 1


def _contradicted(rubric: _Rubric, answer: _Answer) -> set[int]:
    """Indices of the reference clauses the answer contradicts (see the module docstring)."""
    out: set[int] = set()
    for index, clause in enumerate(rubric.clauses):
        for prop in clause:
            if 2 * len(prop.keys & answer.keys) < max(len(prop.keys), 4):
                continue  # no answer proposition can be related to it (a cheap first test)
            shared = Counter(i for k in prop.keys for i in answer.postings.get(k, ()))
            closest = min(shared, key=lambda i: (-shared[i], i))
            best = answer.propositions[closest]
            if not _disagree(best, prop):
                continue
            overlap = len(best.keys & prop.keys)
            if not any(_disagree(best, other) is False and len(best.keys & other.keys) >= overlap
                       for other in rubric.propositions):
                out.add(index)
                break
    return out


def lexical(prompt: str, reference: str, key_points: tuple[KeyPoint, ...], text: str) -> Lexical:
    """The lexical evidence for each key point in `text` (see the module docstring)."""
    rubric = _rubric(prompt, reference, key_points)
    answer = _Answer(text)
    contradicted = _contradicted(rubric, answer)
    stuffed = (len(answer.words) >= STUFFING_MIN_WORDS
               and stopword_share(answer.words) < STUFFING_SHARE)
    limit = STUFFING_CAP if stuffed else 1.0
    return Lexical(
        coverages=tuple(min(limit, _point_coverage(p, answer)) for p in rubric.points),
        contradicted=tuple(bool(contradicted.intersection(p.clauses)) for p in rubric.points),
        stuffed=stuffed,
    )
