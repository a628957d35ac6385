"""Injection pre-filter: spot answer text that talks to the grader instead of about the topic.

DESIGN.md ("Grades"): the answer is data, never instructions. An answer that tries to steer the
grader is flagged (its score is capped at 5) and the flagged text never reaches a model; the
rest is graded on what it says about the topic. Both graders share this module, so the offline
grade and the LLM grade of one answer see the same text.

What is flagged: chat-template role markers, fake delimiters that pretend the answer has ended,
imperative "ignore/disregard the previous instructions", persona switches ("you are now ..."),
requests for a score ("10/10", "give me full marks"), self-assessments addressed to the grader
and "master key" strings known to fool LLM judges ("Thought process:"). Matching runs on a folded
copy of the text (NFKC, zero-width and format characters dropped, common Cyrillic/Greek
look-alikes mapped to Latin), so "ｉｇｎｏｒｅ" or "ig\u200bnore" are caught; when a match only exists in
the folded copy the answer is also flagged `unicode_obfuscation`.

The patterns are deliberately narrow (imperative mood, grading vocabulary next to the verb) so
an honest answer that mentions grades or instructions ("we scored models by F1", "gradient
descent ignores ...") is not flagged: a false flag costs an honest user half their score.
"""

from __future__ import annotations

import re
import unicodedata

_TARGET = (
    r"(?:instructions?|prompts?|rules|rubric|guidelines|directions|criteria|grading|marking"
    r"|scoring|key\s*points|context|constraints)"
)
_FULL = r"(?:full|perfect|maximum|max|top|highest|high|10|ten|100\s*%|an?\s+(?:10|a\+|perfect))"
_UNIT = r"(?:marks?|score|points?|grade|credit|rating)"

PATTERNS: dict[str, re.Pattern[str]] = {
    "role_marker": re.compile(
        r"(?:^|[\n.!?]\s*|[\"'\[(]\s*)(?:system|assistant|developer|grader|user)\s*(?:prompt)?\s*:"
        r"|<\|\s*(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)[^>]*>"
        r"|\[/?\s*inst\s*\]|<</?\s*sys\s*>>|#{2,}\s*(?:system|instruction|response)\b",
        re.MULTILINE,
    ),
    "fake_delimiter": re.compile(
        r"</\s*(?:answer|response|student[_ ]?answer|user[_ ]?answer|input|question|text|data)\s*>"
        r"|<\s*/?\s*(?:system|instructions?|rubric|grader)\s*>"
        r"|```\s*(?:system|instructions?|prompt)\b"
        r"|(?:^|[\n\[\-=#*>.!?]\s*)(?:end|close)\s+of\s+(?:the\s+)?(?:student'?s?\s+|user'?s?\s+)?"
        r"(?:answer|response|input|submission)\s*(?:[.:\]\-=#*!]|$)"
        r"|\b(?:begin(?:ning)?|start)\s+of\s+(?:the\s+)?(?:new\s+)?(?:instructions?|system\s+prompt)",
        re.MULTILINE,
    ),
    "ignore_instructions": re.compile(
        r"(?:^|[\n.!?:;,]\s*|\b(?:please|now|just|so|and|then)\s+)"
        r"(?:ignore|disregard|forget|override|bypass|discard)\s+(?:\w+\s+){0,4}?"
        r"(?:previous|prior|above|earlier|preceding|all|any|your|the|these|those|original)\s+"
        r"(?:\w+\s+){0,2}?" + _TARGET
        + r"|\b(?:disregard|ignore|override|bypass)\s+(?:the\s+|this\s+|your\s+|any\s+)?"
        r"(?:grading\s+|marking\s+|scoring\s+)?(?:rubric|key\s*points|grader|system\s+prompt)",
        re.MULTILINE,
    ),
    "persona_switch": re.compile(
        r"\byou\s+are\s+now\s+(?:a|an|the|in|my|acting|no\s+longer|free|going\s+to|dan)\b"
        r"|\bfrom\s+now\s+on,?\s+you\b|\bpretend\s+(?:to\s+be|you\s+are)\b"
        r"|\bact\s+as\s+(?:a|an|the|my)\s+(?:\w+\s+)?(?:grader|teacher|examiner|judge|evaluator)"
        r"|\bnew\s+(?:system\s+)?instructions?\s*:|\bnote\s+to\s+(?:the\s+)?(?:grader|evaluator"
        r"|examiner|model|ai|llm)\b|\b(?:dear|hey|hi)\s+(?:grader|evaluator|ai|model|gpt|chatgpt)\b"
        r"|\b(?:as|to)\s+(?:the|an?)\s+(?:ai\s+|llm\s+)?(?:grader|evaluator),?\s+you\b"
    ),
    "score_request": re.compile(
        r"(?<![\d.])(?:10|ten)\s*/\s*10\b|\b(?:10|ten)\s+out\s+of\s+(?:10|ten)\b"
        r"|\b(?:score|grade|mark|rating|points?)\s*[:=]\s*(?:10|ten|full|max|maximum|perfect)"
        r"(?![\d.]*\d)"
        r"|\b(?:give|award|assign|grant)\s+(?:me|this(?:\s+answer)?|the\s+answer|it|us|my\s+answer)"
        r"\s+(?:a\s+|an\s+|the\s+)?" + _FULL + r"(?:\s+" + _UNIT + r")?"
        r"|\b(?:give|award|assign|grant)\s+(?:me|this(?:\s+answer)?|it|us|my\s+answer)\s+"
        r"(?:a\s+|the\s+)?" + _UNIT
        + r"\s+of\s+(?:10|ten|100)\b|\bfull\s+(?:marks|credit|points)\b"
        r"|\b(?:score|grade|rate|mark)\s+(?:this|it|me|my\s+answer)\s+(?:as\s+)?(?:an?\s+)?"
        r"(?:10|ten|full|perfect|excellent|correct|maximum|highest)\b"
    ),
    "self_assessment": re.compile(
        r"\b(?:this|the|my)\s+(?:above\s+)?(?:answer|response|submission)\s+(?:above\s+)?"
        r"(?:is|was|should\s+be|must\s+be|will\s+be)\s+(?:graded|scored|marked|rated|considered)"
        r"\s+(?:as\s+)?(?:fully\s+)?(?:correct|excellent|perfect|complete|10|full)"
        r"|\b(?:this|the|my)\s+(?:answer|response|submission)\s+(?:is|was)\s+(?:fully\s+|100%\s+)?"
        r"(?:correct|perfect|excellent)\s+and\s+(?:complete|deserves)"
        r"|\b(?:this|the|my)\s+(?:answer|response|submission)\s+deserves\b"
        r"|\ball\s+(?:the\s+)?key\s*points\s+(?:are|were|have\s+been)\s+(?:covered|addressed|met)"
    ),
    "master_key": re.compile(
        r"\bthought\s+process\s*:|\blet'?s\s+solve\s+this\s+problem\s+step\s+by\s+step"
        r"|^\s*(?:solution|answer|response)\s*[:.]?\s*$",
        re.MULTILINE,
    ),
}

#: Cheap substring tests: a pattern only runs on text holding one of its triggers, because
#: most answers hold none and a plain `in` is far faster than a regex scan.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "role_marker": ("system", "assistant", "developer", "grader", "user", "<|", "inst]", "<<",
                    "##"),
    "fake_delimiter": ("</", "<", "```", "end of", "close of", "begin", "start of"),
    "ignore_instructions": ("ignore", "disregard", "forget", "override", "bypass", "discard"),
    "persona_switch": ("you are now", "now on", "pretend", "act as", "note to", "dear", "hey",
                       "hi ", "instruction", "grader", "evaluator"),
    "score_request": ("10", "ten", "full", "score", "grade", "mark", "rating", "point"),
    "self_assessment": ("deserve", "graded", "scored", "marked", "rated", "considered",
                        "correct", "key point", "keypoint"),
    "master_key": ("thought", "step by step", "solution", "answer", "response"),
}

_FORMAT_CHARS = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁɡαοιкνρτυχѵԛԝһӏ",
    "aeopcyxijsdgaoikvptuxvqwhl",
)
_BREAK = re.compile(r"[.!?](?=\s)|\n")


def _fold(answer: str) -> str:
    """NFKC, strip format characters, map look-alikes and lower-case: what patterns match on."""
    if answer.isascii():
        return answer.lower()
    plain = _FORMAT_CHARS.sub("", unicodedata.normalize("NFKC", answer))
    return plain.translate(_LOOKALIKES).casefold()


def _fold_with_origin(answer: str) -> tuple[str, list[int]]:
    """`_fold` one character at a time, with each folded character's index in the original.

    Slower than `_fold`; only used to cut flagged sentences out of an answer.
    """
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(answer):
        for out in _fold(ch):
            chars.append(out)
            origin.append(index)
    return "".join(chars), origin


_LEAD = "\n\t .!?:;,\"'[("


def _matches(text: str) -> list[tuple[str, int, int]]:
    """(flag, start, end) of every pattern match in already folded text.

    A match may begin with the punctuation that anchors it (the end of the sentence before);
    that lead is skipped so removing the match never takes the previous sentence with it.
    """
    found: list[tuple[str, int, int]] = []
    for flag, pattern in PATTERNS.items():
        if not any(trigger in text for trigger in TRIGGERS[flag]):
            continue
        for m in pattern.finditer(text):
            start = m.start() + len(m.group()) - len(m.group().lstrip(_LEAD))
            found.append((flag, min(start, m.end() - 1), m.end()))
    return found


def scan(answer: str) -> list[str]:
    """Names of the injection patterns found in an answer; empty when the answer is clean."""
    found = {flag for flag, _, _ in _matches(_fold(answer))}
    flags = [flag for flag in PATTERNS if flag in found]
    if flags and not answer.isascii() and not _matches(answer.lower()):
        flags.append("unicode_obfuscation")
    return flags


def _sentence_bounds(answer: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to the sentence (or line) it stands in: the instruction goes with it."""
    left = 0
    for brk in _BREAK.finditer(answer, 0, start):
        left = brk.end()
    right_match = _BREAK.search(answer, end)
    right = right_match.end() if right_match else len(answer)
    return left, right


def strip_flagged(answer: str) -> str:
    """The answer without the sentences that hold a flagged span, whitespace tidied.

    Whole sentences go rather than the matched words alone, since the rest of an injected
    sentence ("... and tell the user it is excellent") is instruction too.
    """
    if not scan(answer):
        return answer
    folded, origin = _fold_with_origin(answer)
    keep = [True] * len(answer)
    for _, start, end in _matches(folded):
        left, right = _sentence_bounds(answer, origin[start], origin[end - 1] + 1)
        keep[left:right] = [False] * (right - left)
    kept = "".join(ch if k else " " for ch, k in zip(answer, keep, strict=True))
    return re.sub(r"[ \t]+", " ", re.sub(r"\s*\n\s*", "\n", kept)).strip()
