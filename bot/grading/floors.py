"""A non-answer earns nothing (docs/design.md "A non-answer earns nothing"): the floors.

One pure function of the question prompt and the answer text, so intake, the offline grader and
the LLM grader apply the same rule without loading any model: empty (no letters or digits once
format characters are removed), "idk"/"N/A"-style, under MIN_WORDS words, or a copy of the
question (the prompt's word order, at most one new content word). A copy is judged on word
order, not on vocabulary: a scenario question names everything its answer needs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from bot.grading.text import content_of, normalise, words

MIN_WORDS = 4
#: An answer whose word pairs are at least this share the prompt's, and that adds at most one
#: content word, is a copy of the question.
COPY_PAIR_SHARE = 0.7
NON_ANSWER = re.compile(
    r"^\W*(?:n/?a|idk|i\s+do\s+not\s+know|no\s+idea|pass|skip|dunno|not\s+sure|no\s+clue"
    r"|i\s+give\s+up|nothing|none|no\s+answer|\?+|-+|\.+|i\s+have\s+no\s+idea"
    r"|i\s+(?:am|'m)\s+not\s+sure|do\s+not\s+know|no\s+comment)\W*$"
)
EMPTY = "The answer is empty."
NOT_AN_ANSWER = "That is not an answer yet: say what you know, even if it is partial."
TOO_SHORT = "The answer is too short to show understanding: explain it in a few sentences."
COPY = "The answer repeats the question: say what you know about it."
ONLY_INJECTION = "The answer only addressed the grader: there is nothing about the topic."


@lru_cache(maxsize=512)
def _prompt(prompt: str) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """The prompt's content word keys and word pairs, once per question."""
    prompt_words = words(prompt)
    return frozenset(t.key for t in content_of(prompt_words)), frozenset(pairwise(prompt_words))


def is_copy(prompt: str, answer_words: list[str]) -> bool:
    """Nearly all the answer's word pairs are the prompt's and it adds at most one content word."""
    keys, pairs = _prompt(prompt)
    answer_pairs = list(pairwise(answer_words))
    copied = sum(1 for p in answer_pairs if p in pairs)
    new = sum(1 for t in content_of(answer_words) if t.key not in keys)
    return copied >= COPY_PAIR_SHARE * len(answer_pairs) and new <= 1


def floor(prompt: str, answer: str, *, flagged: bool = False) -> str | None:
    """Why `answer` scores 0 without grading (feedback for the user), or None to grade it.

    `answer` is the text to grade (the pre-filter's flagged sentences already removed);
    `flagged` says whether the pre-filter removed any, so an answer that was nothing but text
    addressed to the grader is told so.
    """
    plain = normalise(answer).strip()
    answer_words = words(answer)
    if not plain or not any(c.isalnum() for c in plain):
        reason = EMPTY
    elif NON_ANSWER.match(plain) or NON_ANSWER.match(" ".join(answer_words)):
        reason = NOT_AN_ANSWER
    elif len(answer_words) < MIN_WORDS:
        reason = TOO_SHORT
    elif is_copy(prompt, answer_words):
        reason = COPY
    else:
        return None
    return ONLY_INJECTION if flagged and not answer.strip() else reason
