"""Question packs: every shipped pack loads; broken packs are refused with file, id and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SHIPPED_PACKS
from bot.errors import PackError
from bot.packs import RETIRED_FILE, Bank, load_bank, read_retired

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
            ["question mcq-bad: field (pack): answer: must be exactly one letter naming a choice"],
        ),
        (
            """
questions:
  - id: mcq-two-letters
    topic: statistics
    difficulty: easy
    type: mcq
    prompt: Which of these is a measure of spread?
    choices: [mean, variance, range]
    answer: BC
    explanation: Variance and range both measure spread.
""",
            ["question mcq-two-letters: field (pack): answer: must be exactly one letter", "'BC'"],
        ),
        (
            """
questions:
  - id: mcq-same-choice
    topic: statistics
    difficulty: easy
    type: mcq
    prompt: Which of these is a measure of spread?
    choices: [variance, mean, Variance]
    answer: A
    explanation: Variance measures spread.
""",
            ["question mcq-same-choice: field (pack): choices: two choices are the same"],
        ),
        (
            """
questions:
  - id: same-points
    topic: statistics
    difficulty: easy
    type: open
    prompt: What is a p-value, in plain words?
    reference_answer: The probability of data at least this extreme under the null.
    key_points: [under the null, at least as extreme, Under the null]
""",
            ["question same-points: field (pack): key_points: two key points have the same text"],
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
    team = write(tmp_path, "team.yaml", GOOD)
    assert main(["questions", "stats", "--markdown", str(team)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| topic | open easy | open medium | open hard | open | mcq | mcq hard |"
    assert out[2] == "| statistics | 1 | 0 | 0 | 1 | 0 | 0 |"
    assert out[-1] == "1 questions over 1 topics; MCQs by difficulty: 0 easy, 0 medium, 0 hard"


MCQ = """
questions:
  - id: mcq-lower
    topic: statistics
    difficulty: easy
    type: mcq
    prompt: Which of these is a measure of spread?
    choices: [mean, variance]
    answer: b
    explanation: Variance measures spread.
"""


def test_a_lower_case_mcq_letter_means_the_upper_case_one(tmp_path: Path) -> None:
    path = write(tmp_path, "mcq.yaml", MCQ)
    assert load_bank([path]).get("mcq-lower").answer == "B"


SHIPPED_STYLE = """
questions:
  - id: shipped-one
    topic: statistics
    difficulty: easy
    type: open
    prompt: What is a p-value, in plain words?
    reference_answer: The probability of data at least this extreme if the null were true.
    key_points:
      - text: probability of data at least this extreme
        weight: 2
      - computed under the null hypothesis
      - not the probability that the null is true
    follow_ups: ["How would you explain p = 0.03 to a product manager?"]
    misconceptions:
      - text: The p-value is the probability that the null hypothesis is true
        point: 1
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "        weight: 2\n",
            "",
            "question shipped-one: field key_points: the shipped bank needs exactly one key "
            "point with weight: 2 (the central point), has 0",
        ),
        (
            "      - computed under the null hypothesis\n",
            "      - text: computed under the null hypothesis\n        weight: 2\n",
            "field key_points: the shipped bank needs exactly one key point with weight: 2 "
            "(the central point), has 2",
        ),
        (
            "      - computed under the null hypothesis\n",
            "      - text: computed under the null hypothesis\n        weight: 1.5\n",
            "field key_points: the shipped bank weighs key points 1 or 2, found 1.5",
        ),
        (
            "    follow_ups: [",
            "    tags: [",
            "question shipped-one: field follow_ups: the shipped bank has 1-3 follow-ups",
        ),
        (
            "    misconceptions:\n      - text: The p-value is the probability that the null "
            "hypothesis is true\n        point: 1\n",
            "",
            "question shipped-one: field misconceptions: the shipped bank lists 1-3, has 0",
        ),
        (
            "        point: 1\n",
            "        point: 3\n",
            "question shipped-one: field misconceptions: the first one must contradict the "
            "central (weight: 2) key point",
        ),
    ],
)
def test_the_shipped_bank_has_one_central_point_and_follow_ups(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """One weight-2 point per open question, so the same answer quality scores alike in every
    topic; a team pack in another folder may weight as it likes."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    assert old in SHIPPED_STYLE
    body = SHIPPED_STYLE.replace(old, new)
    assert load_bank([write(shipped, "fine.yaml", SHIPPED_STYLE)], shipped=shipped)
    path = write(shipped, "bad.yaml", body)
    with pytest.raises(PackError) as err:
        load_bank([path], shipped=shipped)
    assert f"{path}: " in str(err.value)
    assert expected in str(err.value)
    team = tmp_path / "team"
    team.mkdir()
    assert load_bank([write(team, "team.yaml", body)], shipped=shipped).get("shipped-one")


def test_a_retired_id_is_refused_in_every_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stored answers point at ids, so a retired id never names a new question."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    write(shipped, RETIRED_FILE, "# retired\nold-question   # replaced by shipped-one\n")
    write(shipped, "bank.yaml", SHIPPED_STYLE)
    team = write(tmp_path, "team.yaml", GOOD.replace("good-one", "old-question"))
    with pytest.raises(PackError) as err:
        load_bank([shipped, team], shipped=shipped)
    assert (
        f"{team}: question old-question: field id: the id is retired (listed in "
        f"{shipped / RETIRED_FILE})" in str(err.value)
    )
    # The command line checks a team pack against the shipped bank's retired ids.
    retired = sorted(read_retired(SHIPPED_PACKS))
    reuse = write(tmp_path, "reuse.yaml", GOOD.replace("good-one", retired[0]))
    assert main(["questions", "lint", str(reuse)]) == 1
    assert f"question {retired[0]}: field id: the id is retired" in capsys.readouterr().err


def test_the_shipped_bank_keeps_its_rubric_rules(bank: Bank) -> None:
    retired = read_retired(SHIPPED_PACKS)
    assert {"mcq-star-method", "mcq-star-result", "ml-design-approach"} <= retired.keys()
    assert not retired.keys() & bank.questions.keys()
    for q in bank.open_questions():
        assert [kp.weight for kp in q.key_points].count(2) == 1, q.id
        assert 3 <= len(q.key_points) <= 7, q.id


def test_finding19_a_pack_over_5_mb_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """Issue 12, finding 19: a 50 MB pack took 56 s and 1.4 GB to load; now a file over the
    cap is refused before it is parsed."""
    question = (
        "  - id: q{n}\n    topic: backend\n    difficulty: easy\n    type: open\n"
        "    prompt: {pad}\n"
    )
    pad = "x" * 1000
    body = "questions:\n" + "".join(question.format(n=n, pad=pad) for n in range(5300))
    path = write(tmp_path, "huge.yaml", body)
    assert path.stat().st_size > 5 * 1024 * 1024
    with pytest.raises(PackError) as err:
        load_bank([path])
    assert f"{path}: the file is larger than 5 MB, the limit for a pack" in str(err.value)


def test_finding19_packs_are_parsed_by_libyaml_where_available() -> None:
    import yaml

    from bot import packs

    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert packs.YAML_LOADER is expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    misconceptions:\n      - text: The null is the probability of the data\n"
         "        point: 4\n",
         "question good-one: field (pack): misconceptions: point 4 names no key point (there "
         "are 3)"),
        ("    misconceptions:\n      - text: The null is the probability of the data\n",
         "question good-one: field misconceptions.0.point: Field required"),
        ("    misconceptions:\n      - text: short\n        point: 1\n",
         "question good-one: field misconceptions.0.text: String should have at least 10"),
    ],
)
def test_a_broken_misconception_names_file_question_and_field(
        tmp_path: Path, extra: str, expected: str) -> None:
    path = write(tmp_path, "m.yaml", GOOD + extra)
    with pytest.raises(PackError) as err:
        load_bank([path])
    assert f"{path}: {expected}" in str(err.value)


def test_an_mcq_lists_no_misconceptions(tmp_path: Path) -> None:
    body = MCQ + ("    misconceptions:\n"
                  "      - text: The mean measures how spread out the data are\n"
                  "        point: 1\n")
    path = write(tmp_path, "mcq.yaml", body)
    with pytest.raises(PackError, match="only open questions list misconceptions"):
        load_bank([path])
