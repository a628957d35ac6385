"""The evaluation harness: CSV reading, derived questions, metrics checked by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from bot.grading.base import Grade, GradeRequest
from bot.grading.evaluate import (
    EvalReport,
    calibrated_rmse,
    evaluate,
    format_report,
    load_rows,
    pearson,
    question_for,
    remapped,
    roc_auc,
    sample,
    spearman,
)
from bot.packs import Bank, KeyPoint, Question

FIELDS = ["id", "question_id", "question", "reference_answer", "answer", "score", "score_max",
          "feedback", "all_reference_answers", "placeholder_answer"]
#: (question_id, answer, score, score_max): the fake grader reads the score from the answer.
ROWS = [
    ("q1", "grade 0", 0, 2, "False"),
    ("q1", "grade 5", 2, 2, "False"),
    ("q1", "No response.", 2, 2, "True"),  # a placeholder: must be dropped
    ("q2", "grade 10 first", 0, 1, "False"),
    ("q2", "grade 10 second", 1, 1, "False"),
]
SECRET = "SECRET tutor feedback"


class ScoreFromText:
    """A fake grader: the score is the number after "grade"; it records every request."""

    name = "fake"
    version = "0"

    def __init__(self) -> None:
        self.seen: list[GradeRequest] = []

    async def grade(self, request: GradeRequest) -> Grade:
        self.seen.append(request)
        return Grade(score=int(request.answer.split()[1]), grader=self.name,
                     grader_version=self.version)

    def coverage(self, request: GradeRequest) -> float:
        return int(request.answer.split()[1]) / 10


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "graded.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for i, (qid, answer, score, score_max, placeholder) in enumerate(ROWS):
            writer.writerow({
                "id": f"r{i}", "question_id": qid,
                "question": f"Explain the idea behind question {qid}, briefly?",
                "reference_answer": "The cache keeps hot rows in memory so reads are fast.",
                "answer": answer, "score": score, "score_max": score_max, "feedback": SECRET,
                "all_reference_answers": (
                    "The cache keeps hot rows in memory so reads are fast. || Hot rows are "
                    "served from memory." if qid == "q2" else ""
                ),
                "placeholder_answer": placeholder,
            })
    return path


# Hand-computed for scores x = [0, 5, 10, 10] against targets y = [0, 1, 0, 1]:
# Pearson: sxy = 2.5, sxx = 68.75, syy = 1.
PEARSON = 2.5 / math.sqrt(68.75)
# Spearman: ranks x = [1, 2, 3.5, 3.5], y = [1.5, 3.5, 1.5, 3.5]: sxy = 1, sxx = 4.5, syy = 4.
SPEARMAN = 1 / math.sqrt(18)
# AUC: positives 5 and 10 against negatives 0 and 10: wins 5>0, 10>0, tie 10=10: 2.5 of 4.
AUC = 0.625
# Calibration by question (two questions, so each is a fold): fitted on q2 alone (x constant)
# the line is flat at 0.5, predicting q1's 0 and 1 with errors 0.5, 0.5; fitted on q1 alone
# (y = 0.2x) it predicts 2 for both q2 answers, errors 2 and 1.
RMSE = math.sqrt((0.25 + 0.25 + 4 + 1) / 4)


@pytest.mark.asyncio
async def test_metrics_match_hand_computed_values(data: Path) -> None:
    report = await evaluate(ScoreFromText(), data, progress=False)
    assert report.n_answers == 4 and report.n_questions == 2
    assert report.score.pearson == pytest.approx(PEARSON)
    assert report.score.spearman == pytest.approx(SPEARMAN)
    assert report.score.auc == pytest.approx(AUC)
    assert report.score.rmse == pytest.approx(RMSE)
    low, high = report.score.pearson_ci
    assert -1.0 <= low <= high <= 1.0
    assert report.answers_per_second > 0
    assert report.coverage is not None
    assert report.coverage.pearson == pytest.approx(PEARSON)


def test_metric_functions_directly() -> None:
    xs, ys, groups = [0.0, 5.0, 10.0, 10.0], [0.0, 1.0, 0.0, 1.0], ["q1", "q1", "q2", "q2"]
    assert pearson(xs, ys) == pytest.approx(PEARSON)
    assert spearman(xs, ys) == pytest.approx(SPEARMAN)
    assert roc_auc(xs, ys) == pytest.approx(AUC)
    assert calibrated_rmse(xs, ys, groups) == pytest.approx(RMSE)
    assert roc_auc(xs, [0.0, 0.5, 1.0, 1.0]) is None  # not a binary target
    assert pearson([1.0, 1.0, 1.0], [0.0, 1.0, 0.5]) == 0.0  # a constant grader


@pytest.mark.asyncio
async def test_placeholder_rows_are_dropped_and_labels_never_reach_the_grader(
    data: Path,
) -> None:
    grader = ScoreFromText()
    await evaluate(grader, data, progress=False)
    answers = [r.answer for r in grader.seen]
    assert "No response." not in answers and len(answers) == 4
    shown = " ".join(f"{r.question.prompt} {r.question.reference_answer} "
                     f"{' '.join(k.text for k in r.question.key_points)}" for r in grader.seen)
    assert SECRET not in shown


def test_targets_are_score_over_score_max(data: Path) -> None:
    assert [r.target for r in load_rows(data)] == [0.0, 1.0, 0.0, 1.0]


def test_question_is_derived_from_the_reference(data: Path) -> None:
    rows = load_rows(data)
    plain, with_alternatives = question_for(rows[0]), question_for(rows[2])
    assert plain.type == "open" and plain.prompt == rows[0].question
    assert len(plain.key_points) == 3
    assert " ".join(k.text for k in plain.key_points).replace(" ", "") == (
        rows[0].reference.rstrip(".").replace(" ", ""))
    assert len(with_alternatives.key_points) == 4
    assert with_alternatives.key_points[-1].text == "Hot rows are served from memory."
    assert "Hot rows are served from memory." in (with_alternatives.reference_answer or "")


@pytest.mark.asyncio
async def test_limit_is_a_seeded_sample(data: Path) -> None:
    rows = load_rows(data)
    first, again = sample(rows, 2, seed=3), sample(rows, 2, seed=3)
    assert first == again and len(first) == 2
    assert [rows.index(r) for r in first] == sorted(rows.index(r) for r in first)
    assert {tuple(r.id for r in sample(rows, 2, seed=s)) for s in range(10)} != {
        tuple(r.id for r in first)}
    assert sample(rows, None, seed=0) == rows
    report = await evaluate(ScoreFromText(), data, limit=2, seed=3, progress=False)
    assert report.n_answers == 2


@pytest.mark.asyncio
async def test_bootstrap_is_seeded(data: Path) -> None:
    one = await evaluate(ScoreFromText(), data, seed=1, progress=False)
    two = await evaluate(ScoreFromText(), data, seed=1, progress=False)
    assert one.score.pearson_ci == two.score.pearson_ci


@pytest.mark.asyncio
async def test_report_formats_and_serialises(data: Path) -> None:
    report = await evaluate(ScoreFromText(), data, progress=False)
    text = format_report(report)
    assert "graded.csv" in text and "pearson" in text and "coverage" in text
    loaded = json.loads(report.to_json())
    assert loaded["score"]["auc"] == pytest.approx(AUC)
    assert loaded["n_answers"] == 4
    assert isinstance(report, EvalReport)


@pytest.mark.asyncio
async def test_a_grader_without_coverage_reports_the_score_only(data: Path) -> None:
    class ScoreOnly:
        name, version = "plain", "0"

        async def grade(self, request: GradeRequest) -> Grade:
            return Grade(score=int(request.answer.split()[1]), grader="plain", grader_version="0")

    report = await evaluate(ScoreOnly(), data, progress=False)
    assert report.coverage is None
    assert "coverage" not in format_report(report)


def _write(path: Path, fields: list[str], rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _bank_question() -> Question:
    return Question(
        id="cache-basics", topic="backend", difficulty="easy", type="open",
        prompt="What does a cache do and what is its main risk?",
        reference_answer="A cache keeps hot data in fast memory; stale data is the main risk.",
        key_points=["keeps hot data in fast memory", "reads get faster",
                    "stale data is the main risk"],
    )


@pytest.mark.asyncio
async def test_rows_name_a_bank_question_or_carry_their_key_points(tmp_path: Path) -> None:
    bank = Bank({"cache-basics": _bank_question()}, {"backend": "Backend"})
    inline = json.dumps(["first point here", {"text": "second point here", "weight": 3}])
    data = _write(tmp_path / "own.csv",
                  ["id", "question_id", "question", "answer", "score", "key_points", "profile",
                   "split"],
                  [{"id": "a", "question_id": "cache-basics", "answer": "grade 9", "score": 9,
                    "profile": "strong", "split": "dev"},
                   {"id": "b", "question_id": "cache-basics", "answer": "grade 2", "score": 3,
                    "profile": "vague", "split": "holdout"},
                   {"id": "c", "question_id": "own-q", "question": "Why is the sky blue today?",
                    "answer": "grade 6", "score": 5, "key_points": inline, "profile": "strong",
                    "split": "dev"}])
    grader = ScoreFromText()
    report = await evaluate(grader, data, bank=bank, progress=False)
    by_answer = {r.answer: r.question for r in grader.seen}
    assert by_answer["grade 9"] == bank.get("cache-basics")
    own = by_answer["grade 6"]
    assert own.prompt == "Why is the sky blue today?"
    assert [(k.text, k.weight) for k in own.key_points] == [
        ("first point here", 1.0), ("second point here", 3.0)]
    assert [r.target for r in load_rows(data)] == [0.9, 0.3, 0.5]  # score_max defaults to 10
    assert report.n_questions == 2
    strong, vague = report.profiles["strong"], report.profiles["vague"]
    assert (strong.n, strong.mean_score, strong.share_good, strong.share_above_5) == (
        2, 7.5, 0.5, 1.0)
    assert (vague.n, vague.mean_score) == (1, 2.0)
    text = format_report(report)
    assert "strong" in text and "7.50" in text
    listed = json.loads(report.to_json())["rows"]
    assert [(r["id"], r["score"], r["profile"]) for r in listed] == [
        ("a", 9, "strong"), ("b", 2, "vague"), ("c", 6, "strong")]
    held = await evaluate(ScoreFromText(), data, bank=bank, split="holdout", progress=False)
    assert [r.id for r in held.rows] == ["b"]


@pytest.mark.parametrize(
    ("cell", "says"),
    [("not json", "not JSON"), ("[]", "non-empty"), ('[{"weight": 2}]', "a key point must")],
)
def test_bad_key_points_name_the_line(tmp_path: Path, cell: str, says: str) -> None:
    data = _write(tmp_path / "bad.csv", ["id", "question_id", "answer", "score", "key_points"],
                  [{"id": "a", "question_id": "q", "answer": "x", "score": 1, "key_points": cell}])
    with pytest.raises(ValueError, match=says) as caught:
        load_rows(data)
    assert "bad.csv line" in str(caught.value)


@pytest.mark.asyncio
async def test_a_row_with_no_rubric_is_refused(tmp_path: Path) -> None:
    data = _write(tmp_path / "none.csv", ["id", "question_id", "answer", "score"],
                  [{"id": "a", "question_id": "unknown", "answer": "grade 1", "score": 1}])
    with pytest.raises(ValueError, match="not in the bank"):
        await evaluate(ScoreFromText(), data, bank=Bank({}, {}), progress=False)


def test_a_rows_inline_key_points_get_the_bank_questions_misconceptions(bank: Bank) -> None:
    """A committed row keeps the key points it was judged on; the bank's misconceptions are
    pointed at the row's key point closest in wording to the one each contradicts, and one
    whose key point the row no longer has is left out."""
    known = next(q for q in bank.open_questions() if len(q.misconceptions) >= 2)
    first = known.misconceptions[0]
    kept = known.contradicted(first)
    reworded = KeyPoint(text=kept.text + " (reworded)", weight=kept.weight)
    unrelated = KeyPoint(text="zzz qqq xxx", weight=1)
    listed = remapped(known, (unrelated, reworded))
    assert listed[0] == first.model_copy(update={"point": 2})
    assert remapped(known, (unrelated,)) == []


def test_a_misconception_whose_key_point_the_row_lacks_is_not_moved_to_a_sibling(
        bank: Bank) -> None:
    """Key points of one question share words: without the POST point, "POST is idempotent"
    must not land on "PATCH is ... not necessarily idempotent", its closest text."""
    known = bank.get("http-methods")
    assert known is not None
    post = next(m for m in known.misconceptions if "POST" in m.text)
    row = tuple(kp for kp in known.key_points if kp != known.contradicted(post))
    listed = remapped(known, row)
    assert post.text not in [m.text for m in listed]
    meant = {m.text: known.contradicted(m) for m in known.misconceptions}
    assert listed and all(row[m.point - 1] == meant[m.text] for m in listed)
    assert remapped(known, ()) == []
