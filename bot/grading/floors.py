"""The floors: the one pure check that tells a non-answer from an answer (docs/design.md
"Streaks and points", "A non-answer earns nothing").

An answer is floored when, after the sentences the pre-filter flags are set aside, it has

- no letter or digit once format characters (zero-width, joiners, direction marks) are removed:
  only emoji, punctuation or invisible characters (`blank`); emoji written as shortcodes
  (`:fire:`, as Slack sends them; Discord's custom `<:name:id>`) count as emoji;
- only a shrug: "idk", "N/A", "no idea honestly", "pass" (`non_answer`);
- fewer than MIN_WORDS words (`short`);
- nothing but the question's own words in the question's order (`copy`);
- nothing at all left besides text addressed to the grader (`grader_only`).

Intake runs it once per answer, before the cost guard, and stores the result on the answer; the
graders run the same function, so a grade and an intake never disagree on what a non-answer is.
Pure: no clock, no database, no model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Literal

from bot.grading.prefilter import scan, strip_flagged
from bot.grading.text import FORMAT_CHARS, content_of, normalise, words

Floor = Literal["blank", "non_answer", "short", "copy", "grader_only"]

MIN_WORDS = 4
#: An answer whose word pairs are at least this share the prompt's, and that adds at most one
#: content word, is a copy of the question.
COPY_PAIR_SHARE = 0.7
#: A shrug, alone or with filler around it ("no idea honestly", "sorry, idk lol").
_FILLER = r"(?:honestly|really|sorry|tbh|lol|at\s+all|to\s+be\s+honest|here|either|yet|man|mate)"
NON_ANSWER = re.compile(
    r"^\W*(?:" + _FILLER + r"\W*)*"
    r"(?:n/?a|idk|i\s+do\s+not\s+know|no\s+idea|pass|skip|dunno|not\s+sure|no\s+clue"
    r"|i\s+give\s+up|nothing|none|no\s+answer|\?+|-+|\.+|i\s+have\s+no\s+idea"
    r"|i\s+(?:am|'m)\s+not\s+sure|do\s+not\s+know|no\s+comment|i\s+have\s+no\s+clue)"
    r"(?:\W*" + _FILLER + r")*\W*$"
)

#: An emoji written as a shortcode, or a Discord custom emoji.
SHORTCODE = re.compile(r"<a?:[\w~-]+:\d+>|:[\w+'-]+:")

#: What the user is told about each floor (one line; the caller adds that it earns nothing).
REASONS: dict[Floor, str] = {
    "blank": "The answer is empty: it has no words.",
    "non_answer": "That is not an answer yet: say what you know, even if it is partial.",
    "short": "The answer is too short to show understanding: explain it in a few sentences.",
    "copy": "The answer repeats the question: say what you know about it.",
    "grader_only": "The answer only addressed the grader: there is nothing about the topic.",
}


@dataclass(frozen=True)
class _Prompt:
    keys: frozenset[str]
    pairs: frozenset[tuple[str, str]]


@lru_cache(maxsize=4096)
def _prompt(prompt: str) -> _Prompt:
    prompt_words = words(prompt)
    return _Prompt(
        frozenset(t.key for t in content_of(prompt_words)), frozenset(pairwise(prompt_words))
    )


def _has_word_characters(text: str) -> bool:
    """A letter or a digit anywhere once format characters are gone (emoji and punctuation are
    neither)."""
    plain = FORMAT_CHARS.sub("", unicodedata.normalize("NFKC", text))
    return any(unicodedata.category(ch)[0] in "LN" for ch in plain)


def _is_copy(prompt: _Prompt, answer_words: tuple[str, ...]) -> bool:
    """Nearly all the answer's word pairs are the prompt's and it adds at most one content word.

    Using the prompt's vocabulary is not copying (a scenario question names everything its
    answer needs), so the test is on word order, not on the words alone.
    """
    pairs = list(pairwise(answer_words))
    if sum(1 for p in pairs if p in prompt.pairs) < COPY_PAIR_SHARE * len(pairs):
        return False
    return sum(1 for t in content_of(answer_words) if t.key not in prompt.keys) <= 1


def floor_seen(
    prompt: str, seen: str, seen_words: tuple[str, ...], flagged: bool = False
) -> Floor | None:
    """The floor of an answer's text as the graders see it (`seen`: without flagged sentences,
    `seen_words`: its words), or None when it deserves grading."""
    if ":" in seen and SHORTCODE.search(seen):
        seen = SHORTCODE.sub(" ", seen)
        seen_words = tuple(words(seen))
    if not _has_word_characters(seen):
        return "grader_only" if flagged else "blank"
    if NON_ANSWER.match(normalise(seen).strip()) or NON_ANSWER.match(" ".join(seen_words)):
        return "non_answer"
    if len(seen_words) < MIN_WORDS:
        return "short"
    if _is_copy(_prompt(prompt), seen_words):
        return "copy"
    return None


def floor_of(prompt: str, answer: str) -> Floor | None:
    """The floor of an answer to a question with this prompt, or None when it is an answer."""
    flagged = bool(scan(answer))
    seen = strip_flagged(answer) if flagged else answer
    return floor_seen(prompt, seen, tuple(words(seen)), flagged)
