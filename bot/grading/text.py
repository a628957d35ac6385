"""Tokenising helpers for the offline grader: words, stems, synonyms, negation and clauses.

The offline grader compares an answer with key points word by word, so two spellings of one
idea must meet on one token: "Acknowledgements" and "acknowledgment" must both become
`acknowledg`, "NN" must become "neural network", "can't" must keep its "not". `tokens` is the one
tokenising pass (punctuation kept as BREAK); on top of it: a small stopword list, a Porter-lite
stemmer, synonym groups and abbreviations of ML/backend/science writing, character trigrams,
propositions (the units a negation belongs to) and the sentence/clause splitting that derives key
points from a reference answer. Everything is pure Python and memoised: the grader runs
thousands of answers a second on one core.

Antonyms are folded onto one token with a sign ("disconnected" is `connect` with sign -1), so a
lexical match still finds the topic while the grader can see that the polarity flipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each either
    etc few for from further had has have having he her here hers him his how i if in into is it
    its itself just may me might more most must my of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they this
    those through thus to too under until up very via was we were what when where whether which
    while who whom why will with would yes you your yours e g ie eg therefore hence however
    instead use used using one s since although though unless whereas whenever""".split()
)
#: Words that flip the polarity of the clause they stand in.
NEGATORS: frozenset[str] = frozenset(
    "not no never none neither nor nothing nobody without cannot".split()
)
#: Whole-token expansions: abbreviations and number words, so "NN" meets "neural network".
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "ca": ("can",),
    "wo": ("will",),
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
    ("large", "big", "huge", "high", "great"),
    ("small", "little", "tiny", "low", "less", "few"),
    ("fast", "quick", "rapid", "speedy"),
    ("good", "well", "better"),
    ("bad", "poor", "worse"),
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
    ("good", "bad"),
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
    ("always", "never"),
    ("long", "short"),
    ("tight", "loose"),
    ("heavy", "light"),
    ("synchronous", "asynchronous"),
    ("connectionless", "connection"),
)

#: What a tokeniser keeps: words (numbers with their decimals) and punctuation that ends a
#: proposition, the latter as BREAK.
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*|[,;:.!?()\n]")
_BREAK_MARKS = frozenset(",;:.!?()\n")
BREAK = "|"
_NOT_CONTRACTION = re.compile(
    r"\b(is|are|was|were|do|does|did|has|have|had|could|would|should|ca|wo|need|must)"
    r"(?:n['\"^`\u2019]?t)\b|n['\"^`\u2019]t\b"
)
_NO_LONGER = re.compile(r"\bno\s+longer\b|\bnot\s+(?:anymore|any\s+more)\b")
#: Invisible format characters (soft hyphen, zero-width space and joiners, direction marks,
#: variation selectors, tag characters): only ever used to split or disguise words.
FORMAT_CHARS = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def normalise(text: str) -> str:
    """NFKC-fold, drop zero-width/format characters and lower-case.

    NFKC turns fullwidth and other compatibility letters into ASCII, so obfuscated spellings
    compare equal to plain ones; format characters (zero-width space, joiners, direction marks)
    are invisible to a reader and only ever used to split words apart.
    """
    if text.isascii():
        return text.lower()
    return FORMAT_CHARS.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _expand_not(match: re.Match[str]) -> str:
    """`doesn't`, `dont`, `isn"t` -> `does not`...: negation must survive tokenising."""
    return f"{match.group(1) or ''} not"


def tokens(text: str) -> list[str]:
    """Lower-cased words, contractions and abbreviations expanded, with BREAK for punctuation.

    The one tokenising pass everything else reads from: the grader tokenises an answer once.
    """
    plain = _NOT_CONTRACTION.sub(_expand_not, normalise(text).replace("cannot", "can not"))
    if "longer" in plain or "any" in plain:
        plain = _NO_LONGER.sub(" not ", plain)
    out: list[str] = []
    for token in _TOKEN.findall(plain):
        if token in _BREAK_MARKS:
            out.append(BREAK)
        else:
            out.extend(EXPANSIONS.get(token, (token,)))
    return out


def words(text: str) -> list[str]:
    """The word tokens of a text (`tokens` without the breaks)."""
    return [t for t in tokens(text) if t != BREAK]


_STEP1: tuple[tuple[str, str], ...] = (
    ("sses", "ss"), ("ies", "y"), ("ied", "y"), ("ingly", ""), ("edly", ""), ("ings", ""),
    ("ing", ""), ("ed", ""), ("es", "e"), ("s", ""),
)
_STEP2: tuple[tuple[str, str], ...] = (
    ("ational", "ate"), ("tional", "tion"), ("ization", "ize"), ("isation", "ize"),
    ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("ations", "ate"),
    ("ation", "ate"), ("ators", "ate"), ("ator", "ate"), ("ements", ""), ("ement", ""),
    ("ments", ""), ("ment", ""), ("ness", ""), ("ously", "ous"), ("ally", "al"), ("ity", ""),
    ("ively", "ive"), ("ize", ""), ("ise", ""), ("able", ""), ("ible", ""), ("ful", ""),
    ("ly", ""), ("ency", ""), ("ancy", ""), ("ence", ""), ("ance", ""), ("ent", ""), ("ant", ""),
    ("al", ""), ("er", ""), ("our", "or"),
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
    base = word if word.endswith(_NO_S_STRIP) else _strip(word, _STEP1)
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


@lru_cache(maxsize=65536)
def _content(word: str) -> Token | None:
    if word == BREAK or word in STOPWORDS or word in NEGATORS:
        return None
    key, sign = polar(canonical(word))
    return Token(key, sign, word)


def content_of(word_list: Iterable[str]) -> list[Token]:
    """The content words among word tokens (stopwords, negators and breaks left out)."""
    return [t for t in map(_content, word_list) if t is not None]


def content_tokens(text: str) -> list[Token]:
    """The content words of a text, as comparison tokens."""
    return content_of(words(text))


@lru_cache(maxsize=65536)
def char_grams(word: str, n: int = 3) -> tuple[str, ...]:
    """Character n-grams of a word padded with spaces (" cat " -> " ca", "cat", "at ")."""
    padded = f" {word} "
    return tuple(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))


@lru_cache(maxsize=65536)
def gram_set(word: str, n: int = 3) -> frozenset[str]:
    """`char_grams` as a set, for similarity between two words."""
    return frozenset(char_grams(word, n))


#: Words that start a new proposition: a negation or antonym belongs to the part it stands in.
CONJUNCTIONS: frozenset[str] = frozenset(
    """and but or so because if when whenever then than while whereas although though unless
    which that where since as""".split()
)


@dataclass(frozen=True)
class Proposition:
    """The smallest statement unit: its content words with their antonym signs, and whether
    a negator stands in it."""

    signs: dict[str, frozenset[int]]
    negated: bool
    keys: frozenset[str]


def _proposition(word_list: Sequence[str]) -> Proposition:
    found: dict[str, set[int]] = {}
    for token in content_of(word_list):
        found.setdefault(token.key, set()).add(token.sign)
    negations = sum(1 for w in word_list if w in NEGATORS)
    return Proposition({k: frozenset(v) for k, v in found.items()}, negations % 2 == 1,
                       frozenset(found))


def propositions(token_list: Sequence[str]) -> list[Proposition]:
    """Cut tokens at every break and conjunction: "the penny cannot scratch the paperclip"
    inside a longer sentence is negated on its own. Units without content words are dropped."""
    out: list[Proposition] = []
    current: list[str] = []
    for token in [*token_list, BREAK]:
        if token == BREAK or token in CONJUNCTIONS:
            if current:
                prop = _proposition(current)
                if prop.keys:
                    out.append(prop)
            current = []
        else:
            current.append(token)
    return out


def stopword_share(word_list: Sequence[str]) -> float:
    """Share of function words: about 0.4-0.5 in prose, near 0 in a bare list of keywords."""
    if not word_list:
        return 0.0
    return sum(1 for w in word_list if w in STOPWORDS or w in NEGATORS) / len(word_list)


_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?;])\s+|\n+|\s*[\u25cf\u2022\u25cb\u25aa\u2023]\s*|(?:^|\s)-\s*(?=[A-Za-z])"
    r"|(?:^|\s)\(?\d{1,2}[.)]\s*(?=[A-Za-z])|\s*\u2192\s*|\s*=>\s*"
)
_CLAUSE_BREAK = re.compile(
    r"\s*[:,]\s+(?=(?:and|but|while|whereas|which|because|so|since|although|then|or)\b)"
    r"|\s+(?=(?:while|whereas|because|although|since|which|who|unless|so\s+that)\b)|:\s+"
    r"|,\s+(?=[A-Z])"
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
    return [*pieces[:best], f"{pieces[best]}; {pieces[best + 1]}", *pieces[best + 2 :]]


def _split_largest(pieces: list[str], parts: int) -> list[str] | None:
    """Cut the piece with the most content words into `parts` pieces of equal content.

    Returns None when the largest piece cannot be cut (fewer than two content words, or all
    of them in one surface word such as "back-and-forth").
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
    if len(chunks) < 2:
        return None
    return [*pieces[:best], *(" ".join(c) for c in chunks), *pieces[best + 1 :]]


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
