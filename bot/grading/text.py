"""Tokenising helpers for the offline grader: words, stems, synonyms, negation and clauses.

The offline grader compares an answer with key points word by word, so two spellings of one
idea must meet on one token: "Acknowledgements" and "acknowledgment" must both become
`acknowledg`, "NN" must become "neural network", "can't" must keep its "not". Everything here is
pure Python and memoised, because the grader runs thousands of answers a second on one core.

Antonyms are folded onto one token with a sign ("disconnected" is `connect` with sign -1), so a
lexical match still finds the topic while the grader can see that the polarity flipped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each either
    etc few for from further had has have having he her here hers him his how i if in into is it
    its itself just may me might more most must my of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they this
    those through thus to too under until up very via was we were what when where whether which
    while who whom why will with would yes you your yours e g ie eg i.e e.g therefore hence
    however instead use used using one s""".split()
)
#: Words that flip the polarity of the clause they stand in.
NEGATORS: frozenset[str] = frozenset(
    "not no never none neither nor nothing nobody without cannot".split()
)
#: Whole-token expansions: abbreviations and number words, so "NN" meets "neural network".
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "nn": ("neural", "network"),
    "nns": ("neural", "network"),
    "ml": ("machine", "learning"),
    "db": ("database",),
    "dbs": ("database",),
    "ack": ("acknowledgment",),
    "acks": ("acknowledgment",),
    "seq": ("sequence",),
    "info": ("information",),
    "config": ("configuration",),
    "auth": ("authentication",),
    "lr": ("learning", "rate"),
    "sgd": ("stochastic", "gradient", "descent"),
    "cv": ("cross", "validation"),
    "max": ("maximum",),
    "min": ("minimum",),
    "approx": ("approximately",),
    "w": ("with",),
    "wo": ("without",),
    "two": ("2",),
    "three": ("3",),
    "four": ("4",),
    "five": ("5",),
    "six": ("6",),
    "seven": ("7",),
    "eight": ("8",),
    "nine": ("9",),
    "ten": ("10",),
    "twice": ("2",),
    "half": ("0.5",),
}
#: Groups of words with one meaning; the first word is the group's token.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("increase", "grow", "rise", "raise", "increment"),
    ("decrease", "reduce", "shrink", "decline", "decrement", "diminish"),
    ("large", "big", "huge", "high", "great", "more"),
    ("small", "little", "tiny", "low", "less", "few"),
    ("fast", "quick", "rapid", "speedy"),
    ("same", "identical", "equal"),
    ("different", "differ", "distinct"),
    ("disconnected", "separate", "separated", "isolated"),
    ("closed", "complete"),
    ("error", "mistake"),
    ("start", "begin", "initial"),
    ("send", "transmit", "transfer"),
    ("utilize", "employ"),
    ("need", "require", "necessary", "needed"),
    ("allow", "enable", "permit", "let"),
    ("prevent", "avoid"),
    ("damage", "broken", "dead", "faulty", "defective"),
    ("path", "route", "circuit"),
    ("hot", "warm", "heat"),
    ("cold", "cool"),
)
#: Pairs of opposites: the second word is read as "not" the first one.
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("increase", "decrease"),
    ("large", "small"),
    ("fast", "slow"),
    ("same", "different"),
    ("closed", "open"),
    ("closed", "incomplete"),
    ("connected", "disconnected"),
    ("positive", "negative"),
    ("before", "after"),
    ("series", "parallel"),
    ("true", "false"),
    ("correct", "incorrect"),
    ("possible", "impossible"),
    ("valid", "invalid"),
    ("hot", "cold"),
    ("expand", "contract"),
    ("attract", "repel"),
    ("conductor", "insulator"),
    ("accept", "reject"),
    ("complete", "empty"),
    ("always", "never"),
    ("synchronous", "asynchronous"),
    ("connectionless", "connection"),
)

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")
_NOT_CONTRACTION = re.compile(r"\b(can|won|shan)'?t\b|n't\b")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc"})


def normalise(text: str) -> str:
    """NFKC-fold, drop zero-width/format characters and lower-case.

    NFKC turns fullwidth and other compatibility letters into ASCII, so obfuscated spellings
    compare equal to plain ones; format characters (zero-width space, joiners, direction marks)
    are invisible to a reader and only ever used to split words apart.
    """
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES else ""
        for ch in folded
    )
    return kept.casefold()


def _expand_not(match: re.Match[str]) -> str:
    """`can't` -> `can not`, `doesn't` -> ` not`: negation must survive tokenising."""
    head = match.group(1)
    return f"{head} not" if head else " not"


def words(text: str) -> list[str]:
    """Lower-cased word tokens with contractions and abbreviations expanded."""
    plain = _NOT_CONTRACTION.sub(_expand_not, normalise(text).replace("\u2019", "'"))
    out: list[str] = []
    for token in _WORD.findall(plain.replace("cannot", "can not")):
        out.extend(EXPANSIONS.get(token, (token,)))
    return out


_STEP1: tuple[tuple[str, str], ...] = (
    ("sses", "ss"), ("ies", "y"), ("ied", "y"), ("ingly", ""), ("edly", ""), ("ings", ""),
    ("ing", ""), ("ed", ""), ("es", "e"), ("s", ""),
)
_STEP2: tuple[tuple[str, str], ...] = (
    ("ational", "ate"), ("tional", "tion"), ("ization", "ize"), ("isation", "ize"),
    ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("ations", "ate"),
    ("ation", "ate"), ("ators", "ate"), ("ator", "ate"), ("ements", ""), ("ement", ""),
    ("ments", ""), ("ment", ""), ("ness", ""), ("ously", "ous"), ("ally", "al"), ("ity", ""),
    ("ively", "ive"), ("ize", ""), ("ise", ""), ("able", ""), ("ible", ""),
    ("ful", ""), ("ly", ""), ("ency", ""), ("ancy", ""), ("ence", ""), ("ance", ""), ("ent", ""), ("ant", ""), ("al", ""),
    ("er", ""), ("our", "or"),
)
_VOWEL = re.compile(r"[aeiouy]")
_NO_S_STRIP = ("ss", "us", "is", "ous")


def _strip(word: str, rules: tuple[tuple[str, str], ...]) -> str:
    """Apply the first matching suffix rule that leaves a stem of 3+ letters with a vowel."""
    for suffix, repl in rules:
        if word.endswith(suffix):
            stem = word[: -len(suffix)] + repl
            if len(stem) >= 3 and _VOWEL.search(stem):
                return stem
            return word
    return word


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A Porter-lite stemmer: plural/tense endings, then one derivational suffix, then final e.

    Both sides of every comparison go through it, so over-stemming ("router" and "route" both
    become `rout`) only merges near-synonyms; what matters is that inflections meet.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("s") and word.endswith(_NO_S_STRIP):
        base = word
    else:
        base = _strip(word, _STEP1)
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz" and base != word:
        base = base[:-1]
    base = _strip(base, _STEP2)
    if len(base) > 4 and base.endswith("e"):
        base = base[:-1]
    return base


def _build_synonyms() -> dict[str, str]:
    """Map the stem of every synonym to the stem of its group's first word."""
    table: dict[str, str] = {}
    for group in SYNONYMS:
        head = stem(group[0])
        for word in group:
            table.setdefault(stem(word), head)
    return table


_SYNONYM_OF = _build_synonyms()


def canonical(word: str) -> str:
    """The token a word compares as: its stem, folded onto its synonym group."""
    base = stem(word)
    return _SYNONYM_OF.get(base, base)


def _build_antonyms() -> dict[str, tuple[str, int]]:
    """Map the canonical token of each antonym to (the pair's positive token, sign)."""
    table: dict[str, tuple[str, int]] = {}
    for positive, negative in ANTONYMS:
        head = canonical(positive)
        table.setdefault(head, (head, 1))
        table.setdefault(canonical(negative), (head, -1))
    return table


_ANTONYM_OF = _build_antonyms()


def polar(token: str) -> tuple[str, int]:
    """(token, sign): opposites share one token and differ in sign; other words have sign 1."""
    return _ANTONYM_OF.get(token, (token, 1))


@dataclass(frozen=True)
class Token:
    """One content word: its comparison token, polarity sign and surface form."""

    key: str
    sign: int
    surface: str


def content_tokens(text: str) -> list[Token]:
    """The content words of a text (stopwords and negators left out), as comparison tokens."""
    out: list[Token] = []
    for word in words(text):
        if word in STOPWORDS or word in NEGATORS:
            continue
        key, sign = polar(canonical(word))
        out.append(Token(key, sign, word))
    return out


def negation_count(text: str) -> int:
    """How many negators a text holds; odd means the statement is negated."""
    return sum(1 for word in words(text) if word in NEGATORS)


def stopword_share(text: str) -> float:
    """Share of function words: about 0.4-0.5 in prose, near 0 in a bare list of keywords."""
    tokens = words(text)
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if t in STOPWORDS or t in NEGATORS) / len(tokens)


_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?;])\s+|\n+|\s*[\u25cf\u2022\u25cb\u25aa\u2023]\s*|(?:^|\s)-\s*(?=[A-Za-z])"
    r"|(?:^|\s)\(?\d{1,2}[.)]\s*(?=[A-Za-z])|\s*\u2192\s*|\s*=>\s*"
)
_CLAUSE_BREAK = re.compile(
    r"\s*[:,]\s+(?=(?:and|but|while|whereas|which|because|so|since|although|then|or)\b)"
    r"|\s+(?=(?:while|whereas|because|although|since)\b)|:\s+|,\s+(?=[A-Z])"
)


def sentences(text: str) -> list[str]:
    """Split text into sentences, list items and bullet points (empty pieces dropped)."""
    return [p.strip(" -.;") for p in _SENTENCE_BREAK.split(text) if p and p.strip(" -.;")]


def clauses(text: str) -> list[str]:
    """Split text into clauses: sentences, then at conjunctions and colons."""
    out: list[str] = []
    for sentence in sentences(text):
        out.extend(p.strip(" ,:") for p in _CLAUSE_BREAK.split(sentence) if p.strip(" ,:"))
    return out


def _content_size(text: str) -> int:
    return len(content_tokens(text))


def _merge_smallest(pieces: list[str]) -> list[str]:
    """Join the adjacent pair with the fewest content words (keeps order and all the text)."""
    sizes = [_content_size(p) for p in pieces]
    best = min(range(len(pieces) - 1), key=lambda i: sizes[i] + sizes[i + 1])
    return pieces[:best] + [f"{pieces[best]}; {pieces[best + 1]}"] + pieces[best + 2 :]


def _split_largest(pieces: list[str], parts: int) -> list[str] | None:
    """Cut the piece with the most content words into `parts` pieces of equal content.

    Returns None when no piece has two content words to share out.
    """
    sizes = [_content_size(p) for p in pieces]
    best = max(range(len(pieces)), key=lambda i: sizes[i])
    surface = pieces[best].split()
    counts = [_content_size(w) for w in surface]
    parts = min(parts, sizes[best], len(surface))
    if parts < 2:
        return None
    chunks: list[list[str]] = [[]]
    running = 0
    for word, count in zip(surface, counts, strict=True):
        if chunks[-1] and running >= sizes[best] * len(chunks) / parts and len(chunks) < parts:
            chunks.append([])
        chunks[-1].append(word)
        running += count
    return pieces[:best] + [" ".join(c) for c in chunks] + pieces[best + 1 :]


def derive_key_points(reference: str, low: int = 3, high: int = 7) -> list[str]:
    """Key point texts from a reference answer, for questions that come without a rubric.

    Clauses with fewer than two content words are merged into a neighbour; then adjacent small
    clauses are merged until there are at most `high`, and the largest is cut until there are at
    least `low` (a one-line reference becomes its three thirds, each checked on its own). A
    reference too short to split yields fewer than `low` pieces rather than repeated ones.
    """
    pieces = [p for p in clauses(reference) if _content_size(p) > 0] or [reference.strip()]
    while len(pieces) > 1 and min(_content_size(p) for p in pieces) < 2:
        pieces = _merge_smallest(pieces)
    while len(pieces) > high:
        pieces = _merge_smallest(pieces)
    while len(pieces) < low:
        split = _split_largest(pieces, low - len(pieces) + 1)
        if split is None:
            break
        pieces = split
    return pieces
