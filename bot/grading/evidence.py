"""Our code decides what a model's evidence is worth (docs/design.md "Grades").

A fooled model quotes the answer's own sentences as "evidence", so a quote merely being in the
answer proves nothing. A judgment's credit is therefore capped by two checks:

1. The quote must be in the answer (the text the model saw, after the pre-filter removed
   flagged sentences), compared as word sequences: case, whitespace, punctuation and Unicode
   compatibility forms do not matter; "..." may join fragments, each of which must be found.
   A quote that is not found voids the point.
2. The quoted sentence(s) must be about the key point: the weighted share of the key point's
   content words (stemmed and synonym-folded by `bot.grading.text`) found in the sentences
   holding the quote. Words of the question prompt count a quarter, and matching only those
   counts nothing: echoing the question proves nothing. Below `VOID_BELOW` the point gets
   nothing, below `FULL_AT` at most "partly". The whole sentence is read rather than the quote
   alone because models quote fragments; the model still chooses which sentence it points at.

Thresholds, measured (tests/test_evidence.py): for the 1,003 key points of the 199 shipped
open questions, the reference answer's best sentence reaches `FULL_AT` for 91 % and
`VOID_BELOW` for all but 3 (0.3 %); for the wrong answers of the injection corpus (62 key
points) 89 % of the best sentences fall below `VOID_BELOW` and 2 % reach `FULL_AT`. Reference
answers share the rubric's words more than candidates do, so real answers lose more than these
figures say.

Known limits: a correct paraphrase that shares no words with the key point is not credited (the
rubric's key points are written in the words candidates use, and an honest answer losing a point
to this check costs less than an obedient model handing out points for topic-sounding text); and
the check is lexical, so a sentence stating the key point's opposite in its words passes it:
judging correctness stays the model's job (a polarity heuristic was tried and voided honest
sentences such as "poorly on data it has not seen" against "unseen data").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from bot.grading.text import content_tokens, normalise

#: Relevance below which evidence counts for nothing, and from which it may count in full.
VOID_BELOW = 0.25
FULL_AT = 0.5
#: Weight of a key-point word that the question prompt already gives away.
QUESTION_WORD_WEIGHT = 0.25
#: A longer or inflected form of a word ("memorisation" for "memorises") counts this much.
PREFIX_MATCH = 0.7
PREFIX_LEN = 5
#: A quote must hold at least this many words: "the" is in every answer.
MIN_QUOTE_WORDS = 2

_WORD = re.compile(r"\w+")
_ELLIPSIS = re.compile(r"\.{3,}|…")
_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n")


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Words of a normalised text with their character spans."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _find(
    needle: Sequence[str], haystack: Sequence[tuple[str, int, int]]
) -> tuple[int, int] | None:
    """Character span of the first contiguous occurrence of a word sequence."""
    n = len(needle)
    words = [w for w, _, _ in haystack]
    for i in range(len(words) - n + 1):
        if words[i : i + n] == needle:
            return haystack[i][1], haystack[i + n - 1][2]
    return None


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for brk in _SENTENCE_END.finditer(text, 0, start):
        left = brk.end()
    right_match = _SENTENCE_END.search(text, end)
    return left, right_match.end() if right_match else len(text)


@lru_cache(maxsize=64)
def _indexed(answer: str) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """An answer normalised and tokenised once: every judgment of a grade searches it."""
    text = normalise(answer)
    return text, tuple(_tokens(text))


def locate(quote: str, answer: str) -> str | None:
    """The sentences of `answer` (normalised) that hold every fragment of `quote`, or None
    when a fragment is not in the answer."""
    text, haystack = _indexed(answer)
    spans: list[tuple[int, int]] = []
    fragments = [[w for w, _, _ in _tokens(normalise(f))] for f in _ELLIPSIS.split(quote)]
    fragments = [f for f in fragments if f]
    if sum(len(f) for f in fragments) < min(MIN_QUOTE_WORDS, len(haystack)) or not fragments:
        return None
    for fragment in fragments:
        span = _find(fragment, haystack)
        if span is None:
            return None
        spans.append(_sentence_around(text, *span))
    merged = sorted(set(spans))
    return " ".join(text[a:b].strip() for a, b in merged)


def _weights(key_point: str, question: str) -> dict[str, float]:
    asked = {t.key for t in content_tokens(question)}
    weights: dict[str, float] = {}
    for token in content_tokens(key_point):
        weights[token.key] = QUESTION_WORD_WEIGHT if token.key in asked else 1.0
    return weights


def _match(key: str, keys: set[str], prefixes: set[str]) -> float:
    if key in keys:
        return 1.0
    if len(key) > PREFIX_LEN and key[:PREFIX_LEN] in prefixes:
        return PREFIX_MATCH
    return 0.0


def relevance(context: str, key_point: str, question: str) -> float:
    """Weighted share of the key point's content words found in the evidence sentences."""
    weights = _weights(key_point, question)
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    keys = {t.key for t in content_tokens(context)}
    prefixes = {k[:PREFIX_LEN] for k in keys if len(k) > PREFIX_LEN}
    found = {k: _match(k, keys, prefixes) for k in weights}
    own = [k for k, w in weights.items() if w == 1.0]
    if own and not any(found[k] for k in own):
        return 0.0  # only words the question gives away: an echo of the question
    return sum(weights[k] * m for k, m in found.items()) / total


def allowed_credit(quote: str, answer: str, key_point: str, question: str) -> float:
    """The most credit a judgment quoting `quote` for `key_point` may get: 0, 0.5 or 1."""
    located = locate(quote, answer)
    if located is None:
        return 0.0
    score = relevance(located, key_point, question)
    if score < VOID_BELOW:
        return 0.0
    return 1.0 if score >= FULL_AT else 0.5


def quoted(quote: str, answer: str) -> bool:
    """Is the quote in the answer (word sequences, see the module docstring)?"""
    return locate(quote, answer) is not None
