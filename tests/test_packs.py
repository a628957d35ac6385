"""Question packs: every shipped pack loads; broken packs are refused with file, id and field."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SHIPPED_PACKS
from bot.errors import PackError
from bot.packs import Bank, load_bank

GOOD = """
questions:
  - id: good-one
    topic: statistics
    difficulty: easy
    type: open
    prompt: What is a p-value, in plain words?
    reference_answer: The probability of data at least this extreme if the null were true.
    key_points: [probability under the null, at least as extreme, not the chance the null is true]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_pack_loads(bank: Bank) -> None:
    assert len(bank) >= 25
    assert len({q.topic for q in bank}) >= 6
    assert all(q.topic in bank.topics for q in bank)


def prompt_words(text: str) -> frozenset[str]:
    """Lower-cased word set of a prompt, used to spot near-duplicate questions."""
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def test_no_near_duplicate_prompts_across_families(bank: Bank) -> None:
    """Paraphrases must share a family; otherwise a channel could get the same question twice."""
    words = {q.id: prompt_words(q.prompt) for q in bank}
    clashes = []
    for a, b in itertools.combinations(bank, 2):
        if a.family_key == b.family_key:
            continue
        union = words[a.id] | words[b.id]
        if union and len(words[a.id] & words[b.id]) / len(union) >= 0.8:
            clashes.append((a.id, b.id))
    assert clashes == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            """
questions:
  - id: bad-diff
    topic: statistics
    difficulty: impossible
    type: open
    prompt: What is a p-value, in plain words?
""",
            ["question bad-diff: field difficulty"],
        ),
        (
            """
questions:
  - id: few-points
    topic: statistics
    difficulty: easy
    type: open
    prompt: What is a p-value, in plain words?
    reference_answer: The probability of data at least this extreme under the null.
    key_points: [one, two]
""",
            ["question few-points: field (pack): key_points: an open question needs 3-7 key"],
        ),
        (
            """
questions:
  - id: mcq-bad
    topic: statistics
    difficulty: easy
    type: mcq
    prompt: Which of these is a measure of spread?
    choices: [mean, variance]
    answer: C
    explanation: Variance measures spread.
""",
            ["question mcq-bad: field (pack): answer: must be one of A, B"],
        ),
        (
            """
questions:
  - id: new-topic
    topic: astrology
    difficulty: easy
    type: open
    prompt: What is a p-value, in plain words?
    reference_answer: The probability of data at least this extreme under the null.
    key_points: [a point, another point, third point]
""",
            ["question new-topic: field topic: unknown topic 'astrology'"],
        ),
        ("questions: [", ["cannot read YAML"]),
    ],
)
def test_broken_pack_names_file_question_and_field(
    tmp_path: Path, body: str, expected: list[str]
) -> None:
    path = write(tmp_path, "team.yaml", body)
    with pytest.raises(PackError) as err:
        load_bank([path])
    text = str(err.value)
    assert str(path) in text
    for fragment in expected:
        assert fragment in text


def test_team_pack_declares_its_own_topics_and_ids_stay_unique(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(
        tmp_path,
        "b.yaml",
        GOOD.replace("statistics", "rust").replace(
            "questions:", "topics:\n  rust: The Rust language\nquestions:"
        ),
    )
    with pytest.raises(PackError, match=r"b.yaml: question good-one: field id: duplicate of"):
        load_bank([tmp_path])


def test_lint_and_schema_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["questions", "lint"]) == 0
    assert main(["questions", "lint", str(write(tmp_path, "x.yaml", "questions: 3"))]) == 1
    assert "field `questions`" in capsys.readouterr().err
    assert main(["questions", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "questions" in schema["properties"]
    assert main(["questions", "stats", str(SHIPPED_PACKS)]) == 0
    assert "total" in capsys.readouterr().out


def test_a_lower_case_mcq_letter_means_the_upper_case_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mcq.yaml",
        """
questions:
  - id: mcq-lower
    topic: statistics
    difficulty: easy
    type: mcq
    prompt: Which of these is a measure of spread?
    choices: [mean, variance]
    answer: b
    explanation: Variance measures spread.
""",
    )
    assert load_bank([path]).get("mcq-lower").answer == "B"
