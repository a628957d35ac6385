"""Self-check rules: marks, flips, the recomputed score with caps, who may check, the tally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import selfcheck
from bot.domain.commands import parse, usage
from bot.domain.rubric import Rubric
from bot.errors import UsageError
from bot.grading.base import Grade
from bot.packs import KeyPoint, Question

QUESTION = Question(
    id="q-self",
    topic="statistics",
    difficulty="medium",
    type="open",
    prompt="Explain the thing a candidate should explain.",
    reference_answer="A reference answer long enough to pass the model's rule.",
    key_points=[
        KeyPoint(text="central point", weight=2),
        KeyPoint(text="second point"),
        KeyPoint(text="third point"),
    ],
)
RUBRIC = Rubric.of(QUESTION)
GRADE = {"covered": ["central point"], "partly": ["second point"], "missed": ["third point"]}
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_marks_flip_and_restore() -> None:
    marks = selfcheck.grader_marks(RUBRIC, GRADE)
    assert [(m.number, m.grader) for m in marks] == [(1, 1.0), (2, 0.5), (3, 0.0)]
    flipped = selfcheck.flip(marks, {1, 2, 3})
    assert [m.learner for m in flipped] == [0.0, 1.0, 1.0]
    assert [m.grader for m in flipped] == [1.0, 0.5, 0.0]  # the grader's marks are kept
    assert selfcheck.flip(selfcheck.flip(marks, {1}), {1}) == marks
    with pytest.raises(ValueError, match="1 to 3"):
        selfcheck.flip(marks, {4})
    lines = selfcheck.marks_text(flipped)
    assert lines[0] == "  1. [ ] central point (grader: [x])" and lines[1].startswith("  2. [x]")


def test_a_checkbox_state_becomes_flips_and_leaves_partly_points_alone() -> None:
    marks = selfcheck.grader_marks(RUBRIC, GRADE)
    assert selfcheck.toggles_to(marks, [1]) == set()  # nothing changed: partly stays partly
    assert selfcheck.toggles_to(marks, [1, 3]) == {3}
    assert selfcheck.toggles_to(marks, []) == {1}
    assert selfcheck.toggles_to(marks, [1, 9]) == set()  # 9 is no key point of this answer


@pytest.mark.parametrize(
    ("flips", "misconceptions", "flagged", "cap", "expected"),
    [
        (set(), 0, False, None, 6),  # (2 + 0.5) / 4 -> 6.25 -> 6, the grader's own score
        ({2, 3}, 0, False, None, 10),
        ({2, 3}, 1, False, None, 9),  # a misconception still costs a point
        ({2, 3}, 0, True, None, 5),  # a flagged answer stays capped at 5
        ({2, 3}, 0, False, 7, 7),  # after a hint, 7 at most
        ({1}, 0, False, None, 1),  # the weight-2 point missed: (0.5) / 4 -> 1
        ({1}, 2, False, None, 0),  # floor 0
    ],
)
def test_the_learner_score_uses_the_one_formula_and_its_caps(
    flips: set[int], misconceptions: int, flagged: bool, cap: int | None, expected: int
) -> None:
    marks = selfcheck.flip(selfcheck.grader_marks(RUBRIC, GRADE), flips)
    assert selfcheck.learner_score(marks, misconceptions, flagged, cap) == expected


def _refusal(**changes: object) -> str | None:
    facts: dict[str, object] = {
        "kind": "practice",
        "status": "graded",
        "overridden": False,
        "floored": False,
        "mcq": False,
        "graded_at": NOW,
        "now": NOW + timedelta(hours=23),
    }
    facts.update(changes)
    return selfcheck.refusal(**facts)  # type: ignore[arg-type]


def test_who_may_check() -> None:
    assert _refusal() is None
    assert "practice and mock" in str(_refusal(kind="daily"))
    assert "practice and mock" in str(_refusal(kind="late"))
    assert "exact" in str(_refusal(mcq=True))
    assert "admin" in str(_refusal(overridden=True))
    assert "no final grade" in str(_refusal(status="provisional"))
    assert "earned nothing" in str(_refusal(floored=True))
    assert "24 hours" in str(_refusal(now=NOW + timedelta(hours=24, seconds=1)))


def test_only_final_non_floored_open_practice_grades_are_offered() -> None:
    grade = Grade(score=6, grader="g", grader_version="1", covered=["central point"])
    offered = selfcheck.offer(1, "practice", RUBRIC, grade)
    assert offered is not None and offered.covered == [1]
    assert selfcheck.offer(1, "daily", RUBRIC, grade) is None
    assert (
        selfcheck.offer(1, "practice", RUBRIC, grade.model_copy(update={"provisional": True}))
        is None
    )
    assert (
        selfcheck.offer(1, "practice", RUBRIC, grade.model_copy(update={"floored": True})) is None
    )


def test_tally_counts_overrules_per_workspace_and_key_point() -> None:
    marks = [m.as_json() for m in selfcheck.flip(selfcheck.grader_marks(RUBRIC, GRADE), {3})]
    same = [m.as_json() for m in selfcheck.grader_marks(RUBRIC, GRADE)]
    report = selfcheck.tally(
        [("T1", "q-self", marks), ("T1", "q-self", same), ("T2", "q-self", same)]
    )
    assert report.answers == {"T1": 2, "T2": 1}
    top = report.points[0]
    assert (top.workspace_id, top.key_point, top.checks, top.to_covered) == (
        "T1",
        "third point",
        2,
        1,
    )
    text = selfcheck.overrule_report(report)
    assert "T1: 2 self-checked answer(s), 1 of 6 key point marks flipped (17%)" in text
    assert "1/2 (50%)  q-self: third point" in text
    assert "T2: 1 self-checked answer(s), 0 of 3" in text
    assert report.to_json()["key_points"][0]["flipped"] == 1
    assert "No self-checks yet" in selfcheck.overrule_report(selfcheck.tally([]))


def test_the_check_command_parses_numbers_and_answer() -> None:
    assert parse("check 1 3").args == {"flips": [1, 3]}
    assert parse("check #12 2,3").args == {"answer": 12, "flips": [2, 3]}
    assert parse("check").args == {"flips": []}
    with pytest.raises(UsageError, match="not a key point number"):
        parse("check one")
    with pytest.raises(UsageError, match="Usage: /drill check"):
        parse("check 1 -2")
    assert "/drill check [#ANSWER] N" in usage()
