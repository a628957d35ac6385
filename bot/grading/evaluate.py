"""Measure a grader against human-graded answers: the public short-answer sets and our own.

Each answer is graded as a user of the grader would: from the question, the reference answer and
the answer text alone. The labels (score, label, feedback, grader1/2, per-key-point judgments)
are read only to compare with; the one thing fitted on them is a linear calibration for the
RMSE, out of fold and grouped by question, as the public data's README asks.

One CSV schema: `id`, `question_id`, `answer`, `score` (out of `score_max`, 10 when the column
is absent: the bot's own scale), and the question in one of three ways, first match wins:
- a `key_points` column holding a JSON list of key point texts or `{"text", "weight"}` objects
  (the row's own rubric, with the `question` and `reference_answer` columns, or the bank
  question's prompt and reference when those are empty), so later edits to the bank do not
  change a committed answer set;
- a `question_id` naming a question of the bank (its prompt, reference and key points), when
  the row has no `reference_answer`;
- else `question` and `reference_answer`, the key points derived from the reference (below).
Optional columns: `profile` (the kind of answer, e.g. strong / vague / wrong_central: the report
gives each profile's mean score, the share at 7+ and the share above 5), `split` (`--split`
keeps only the rows of one split, e.g. the hold-out questions), and `placeholder_answer`.

Questions of the public sets come without a rubric, so `derived_question` makes one, weight 1
each: the reference answer cut into 3-7 clauses (`derive_key_points`: a one-sentence reference
becomes its three thirds), then SemEval's `all_reference_answers` (other correct answers a
teacher wrote, reference material, not labels) as key points of their own up to seven in all;
they are also appended to the reference text an LLM grader reads. A reference too short to cut
into three (two content words) keeps the one or two pieces it has: Questions are built with
`model_construct`, which skips the pack rule of 3-7 key points written for pack authors.

Metrics, all pure Python: Pearson r of the integer score with score/score_max and its 95 %
interval from a question-level bootstrap (questions resampled with replacement, seeded), Spearman
rho, RMSE after the out-of-fold calibration (5 folds of questions), ROC-AUC when the target is
binary (Mann-Whitney, ties count half) and answers per second over grading time only. The
grader's continuous coverage, when it has one, is reported alongside; the headline is the score.
The JSON report also lists every row's id, profile, score and target, so others can compute
their own figures.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from pathlib import Path

from tqdm import tqdm

from bot.grading.base import Grader, GradeRequest
from bot.grading.text import derive_key_points
from bot.packs import Bank, KeyPoint, KnownMisconception, Question

BOOTSTRAP_RESAMPLES = 1000
CALIBRATION_FOLDS = 5
PROGRESS_MIN_ROWS = 200
ALTERNATIVES_SEPARATOR = "||"
MAX_KEY_POINTS = 7
DEFAULT_SCORE_MAX = 10.0
GOOD_AT = 7


@dataclass(frozen=True)
class Row:
    """One graded answer of the CSV; `target` is score/score_max in [0, 1]."""

    id: str
    question_id: str
    question: str
    reference: str
    answer: str
    target: float
    alternatives: tuple[str, ...] = ()
    key_points: tuple[KeyPoint, ...] = ()
    profile: str = ""
    split: str = ""


@dataclass(frozen=True)
class Metrics:
    """Agreement of one prediction series with the targets."""

    pearson: float
    pearson_ci: tuple[float, float]
    spearman: float
    rmse: float
    auc: float | None


@dataclass(frozen=True)
class ProfileFigures:
    """The scores of one `profile` value: how many, their mean, the share at GOOD_AT or more and
    the share above 5 (the top of the "partial" band)."""

    n: int
    mean_score: float
    share_good: float
    share_above_5: float


@dataclass(frozen=True)
class RowResult:
    """One graded row, for figures of one's own."""

    id: str
    question_id: str
    profile: str
    score: int
    target: float


@dataclass(frozen=True)
class EvalReport:
    """The outcome of one evaluation run: `score` is the headline, `coverage` the continuous."""

    dataset: str
    grader: str
    grader_version: str
    n_answers: int
    n_questions: int
    answers_per_second: float
    score: Metrics
    coverage: Metrics | None
    profiles: dict[str, ProfileFigures]
    rows: list[RowResult]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes"}


def parse_key_points(value: str, where: str) -> tuple[KeyPoint, ...]:
    """A `key_points` cell: a JSON list of texts or {"text", "weight"} objects."""
    try:
        items = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: key_points is not JSON: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where}: key_points must be a non-empty JSON list")
    points: list[KeyPoint] = []
    for item in items:
        if isinstance(item, str):
            points.append(KeyPoint(text=item))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            points.append(KeyPoint(text=item["text"], weight=float(item.get("weight", 1.0))))
        else:
            raise ValueError(f"{where}: a key point must be a text or {{\"text\", \"weight\"}}")
    return tuple(points)


def load_rows(csv_path: Path) -> list[Row]:
    """Read the CSV schema of the module docstring, dropping placeholder answers (empty / "No
    response."); a malformed row is a ValueError naming its line."""
    rows: list[Row] = []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for raw in reader:
            where = f"{csv_path.name} line {reader.line_num}"
            if _truthy(raw.get("placeholder_answer")):
                continue
            alternatives = tuple(
                a.strip() for a in (raw.get("all_reference_answers") or "").split(
                    ALTERNATIVES_SEPARATOR) if a.strip()
            )
            try:
                score_max = float(raw.get("score_max") or DEFAULT_SCORE_MAX)
                target = float(raw["score"]) / score_max
                row_id, question_id, answer = raw["id"], raw["question_id"], raw["answer"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{where}: needs id, question_id, answer and a numeric score "
                                 f"({exc})") from exc
            key_points = raw.get("key_points") or ""
            rows.append(Row(
                id=row_id,
                question_id=question_id,
                question=raw.get("question") or "",
                reference=raw.get("reference_answer") or "",
                answer=answer,
                target=target,
                alternatives=alternatives,
                key_points=parse_key_points(key_points, where) if key_points.strip() else (),
                profile=(raw.get("profile") or "").strip(),
                split=(raw.get("split") or "").strip(),
            ))
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "q"


def question_for(row: Row, bank: Bank | None = None) -> Question:
    """The Question a row is graded against (the three ways of the module docstring)."""
    known = bank.get(row.question_id) if bank is not None else None
    if row.key_points:
        return Question.model_construct(
            id=_slug(row.question_id), topic=known.topic if known else "evaluation",
            difficulty=known.difficulty if known else "medium", type="open",
            prompt=row.question or (known.prompt if known else ""),
            reference_answer=row.reference or (known.reference_answer if known else None),
            key_points=list(row.key_points), tags=[], follow_ups=[], choices=[],
            misconceptions=remapped(known, row.key_points) if known else [],
        )
    if known is not None and not row.reference:
        if known.type != "open":
            raise ValueError(f"row {row.id}: bank question {known.id} is not an open question")
        return known
    if not row.reference:
        raise ValueError(f"row {row.id}: no key_points, no reference_answer, and question_id "
                         f"{row.question_id!r} is not in the bank")
    return derived_question(row)


#: How alike (difflib ratio) a row's key point and the bank's must be to carry its misconceptions.
SAME_POINT = 0.5


def remapped(known: Question, key_points: Sequence[KeyPoint]) -> list[KnownMisconception]:
    """The bank question's misconceptions, each pointed at the row's copy of the key point it
    contradicts: a row's key points are a copy of the bank's from when the row was written, and
    later reviews split or reworded some. A copy is the same text, or else the row's key point
    and the bank's are each other's closest (difflib, at least SAME_POINT): key points of one
    question share words, and the closest alone would point "POST is idempotent" at "PATCH is
    not necessarily idempotent" in a row without the POST point. Without a copy, it is left
    out."""
    bank = [kp.text for kp in known.key_points]
    row = [kp.text for kp in key_points]

    def closest(text: str, among: Sequence[str]) -> int:
        return max(range(len(among)), key=lambda i: SequenceMatcher(None, text, among[i]).ratio())

    def copy_of(meant: str) -> int | None:
        if meant in row:
            return row.index(meant)
        if not row:
            return None
        best = closest(meant, row)
        if bank[closest(row[best], bank)] != meant:
            return None
        return best if SequenceMatcher(None, meant, row[best]).ratio() >= SAME_POINT else None

    out: list[KnownMisconception] = []
    for m in known.misconceptions:
        found = copy_of(known.contradicted(m).text)
        if found is not None:
            out.append(m.model_copy(update={"point": found + 1}))
    return out


def derived_question(row: Row) -> Question:
    """A `type: open` Question for a CSV question, its key points derived from the reference.

    The reference's clauses give the first key points (`derive_key_points`); the other correct
    answers a teacher listed, if any, are added as key points of their own up to the pack limit
    of seven: an answer that matches one of them states part of what is wanted.
    """
    extra = [a for a in row.alternatives if a != row.reference.strip()]
    texts = derive_key_points(row.reference)
    texts += extra[: max(0, MAX_KEY_POINTS - len(texts))]
    return Question.model_construct(
        id=_slug(row.question_id),
        topic="evaluation",
        difficulty="medium",
        type="open",
        prompt=row.question,
        reference_answer="\n".join([row.reference.strip(), *extra]),
        key_points=[KeyPoint.model_construct(text=t, weight=1.0) for t in texts],
        tags=[], follow_ups=[], choices=[],
    )


def sample(rows: Sequence[Row], limit: int | None, seed: int) -> list[Row]:
    """A seeded sample of `limit` rows, in file order (all rows when limit is None)."""
    if limit is None or limit >= len(rows):
        return list(rows)
    picked = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in picked]


# --- metrics -------------------------------------------------------------------------------

def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson r; 0.0 when either side is constant (no linear signal to measure)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    return pearson(ranks(xs), ranks(ys))


def roc_auc(scores: Sequence[float], labels: Sequence[float]) -> float | None:
    """ROC-AUC by Mann-Whitney U (a tie between a positive and a negative counts half).

    None unless the labels are binary with both classes present.
    """
    if not set(labels) <= {0.0, 1.0} or len(set(labels)) < 2:
        return None
    r = ranks(scores)
    n_pos = sum(1 for y in labels if y == 1.0)
    n_neg = len(labels) - n_pos
    rank_sum = sum(rk for rk, y in zip(r, labels, strict=True) if y == 1.0)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _moments(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, ...]:
    """(n, sum x, sum y, sum xx, sum yy, sum xy): what Pearson needs, addable across groups."""
    return (len(xs), sum(xs), sum(ys), sum(x * x for x in xs), sum(y * y for y in ys),
            sum(x * y for x, y in zip(xs, ys, strict=True)))


def _pearson_from(m: Sequence[float]) -> float:
    n, sx, sy, sxx, syy, sxy = m
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    return (n * sxy - sx * sy) / math.sqrt(vx * vy) if vx > 0 and vy > 0 else 0.0


def bootstrap_ci(xs: Sequence[float], ys: Sequence[float], groups: Sequence[str], *,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """95 % interval of Pearson r, resampling whole questions with replacement.

    Answers to one question are not independent (one reference, one tutor), so resampling
    answers would make the interval too narrow.
    """
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    moments = [_moments([xs[i] for i in idx], [ys[i] for i in idx]) for idx in by_group.values()]
    rng = random.Random(seed)
    estimates = sorted(
        _pearson_from([sum(col) for col in zip(*rng.choices(moments, k=len(moments)),
                                               strict=True)])
        for _ in range(resamples)
    )
    return estimates[int(0.025 * resamples)], estimates[min(resamples - 1, int(0.975 * resamples))]


def _fold_of(groups: Sequence[str], folds: int, seed: int) -> dict[str, int]:
    """Assign questions to folds at random (seeded), as evenly as counts allow."""
    unique = sorted(set(groups))
    random.Random(seed).shuffle(unique)
    return {g: i % folds for i, g in enumerate(unique)}


def _fit_line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least squares y = a*x + b; a flat line at the mean when x does not vary."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, my
    a = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return a, my - a * mx


def calibrated_rmse(xs: Sequence[float], ys: Sequence[float], groups: Sequence[str], *,
                    folds: int = CALIBRATION_FOLDS, seed: int = 0) -> float:
    """RMSE of y against a*x + b fitted on the other folds of questions (grouped, out of fold).

    With fewer questions than folds, each question is its own fold; with one question there is
    nothing to fit out of fold on, and the RMSE is NaN.
    """
    if len(set(groups)) < 2:
        return math.nan
    fold = _fold_of(groups, min(folds, len(set(groups))), seed)
    predictions = [0.0] * len(xs)
    for f in set(fold.values()):
        train = [i for i, g in enumerate(groups) if fold[g] != f]
        a, b = _fit_line([xs[i] for i in train], [ys[i] for i in train])
        for i, g in enumerate(groups):
            if fold[g] == f:
                predictions[i] = a * xs[i] + b
    return math.sqrt(sum((p - y) ** 2 for p, y in zip(predictions, ys, strict=True)) / len(ys))


def metrics(xs: Sequence[float], ys: Sequence[float], groups: Sequence[str], seed: int) -> Metrics:
    """Every agreement figure of one prediction series (grouped by question where it matters)."""
    return Metrics(
        pearson=pearson(xs, ys),
        pearson_ci=bootstrap_ci(xs, ys, groups, seed=seed),
        spearman=spearman(xs, ys),
        rmse=calibrated_rmse(xs, ys, groups, seed=seed),
        auc=roc_auc(xs, ys),
    )


# --- running -------------------------------------------------------------------------------

def profile_figures(rows: Sequence[Row], scores: Sequence[int]) -> dict[str, ProfileFigures]:
    """Figures per value of the `profile` column (empty when the CSV has none)."""
    by_profile: dict[str, list[int]] = {}
    for row, score in zip(rows, scores, strict=True):
        if row.profile:
            by_profile.setdefault(row.profile, []).append(score)
    return {
        name: ProfileFigures(
            n=len(values),
            mean_score=sum(values) / len(values),
            share_good=sum(1 for v in values if v >= GOOD_AT) / len(values),
            share_above_5=sum(1 for v in values if v > 5) / len(values),
        )
        for name, values in sorted(by_profile.items())
    }


async def _grade_all(grader: Grader, requests: Sequence[GradeRequest], concurrency: int,
                     progress: bool) -> list[int]:
    """Grade every request with at most `concurrency` in flight; scores in request order."""
    gate = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(requests), file=sys.stderr, unit="answer",
               disable=not progress or len(requests) <= PROGRESS_MIN_ROWS)

    async def one(request: GradeRequest) -> int:
        async with gate:
            grade = await grader.grade(request)
        bar.update()
        return grade.score

    try:
        return list(await asyncio.gather(*(one(r) for r in requests)))
    finally:
        bar.close()


async def evaluate(grader: Grader, csv_path: Path, *, limit: int | None = None, seed: int = 0,
                   concurrency: int = 8, progress: bool = True, bank: Bank | None = None,
                   split: str | None = None) -> EvalReport:
    """Grade the answers of one CSV and compare with the human scores (module docstring).

    `bank` resolves rows that name a bank question; `split` keeps only the rows of that split.
    """
    rows = load_rows(csv_path)
    if split is not None:
        rows = [r for r in rows if r.split == split]
    rows = sample(rows, limit, seed)
    if not rows:
        raise ValueError(f"{csv_path}: no gradable answers")
    questions: dict[str, Question] = {}
    for row in rows:
        if row.question_id not in questions:
            questions[row.question_id] = question_for(row, bank)
    requests = [GradeRequest(question=questions[r.question_id], answer=r.answer) for r in rows]
    n_questions = len(questions)
    started = time.perf_counter()
    scores = await _grade_all(grader, requests, concurrency, progress)
    elapsed = time.perf_counter() - started
    targets = [r.target for r in rows]
    groups = [r.question_id for r in rows]
    continuous: Callable[[GradeRequest], float] | None = getattr(grader, "coverage", None)
    return EvalReport(
        dataset=csv_path.name,
        grader=grader.name,
        grader_version=grader.version,
        n_answers=len(rows),
        n_questions=n_questions,
        answers_per_second=len(rows) / elapsed if elapsed > 0 else float("inf"),
        score=metrics([float(s) for s in scores], targets, groups, seed),
        coverage=(metrics([continuous(r) for r in requests], targets, groups, seed)
                  if continuous is not None else None),
        profiles=profile_figures(rows, scores),
        rows=[RowResult(r.id, r.question_id, r.profile, s, r.target)
              for r, s in zip(rows, scores, strict=True)],
    )


def _metric_line(label: str, m: Metrics) -> str:
    auc = f"{m.auc:.3f}" if m.auc is not None else "-"
    return (f"{label:<10} {m.pearson:>7.3f}  [{m.pearson_ci[0]:.3f}, {m.pearson_ci[1]:.3f}]"
            f"  {m.spearman:>8.3f}  {m.rmse:>6.3f}  {auc:>6}")


def format_report(report: EvalReport) -> str:
    """A short table: one line for the integer score, one for the continuous coverage."""
    lines = [
        f"{report.dataset}: {report.grader} v{report.grader_version}, "
        f"{report.n_answers} answers, {report.n_questions} questions, "
        f"{report.answers_per_second:,.0f} answers/s",
        f"{'':<10} {'pearson':>7}  {'95% CI (questions)':<16}  {'spearman':>8}  {'rmse':>6}"
        f"  {'auc':>6}",
        _metric_line("score", report.score),
    ]
    if report.coverage is not None:
        lines.append(_metric_line("coverage", report.coverage))
    if report.profiles:
        lines.append(f"{'profile':<16} {'answers':>7}  {'mean score':>10}  {'>= 7':>6}  {'> 5':>6}")
        lines.extend(
            f"{name:<16} {p.n:>7}  {p.mean_score:>10.2f}  {p.share_good:>6.0%}"
            f"  {p.share_above_5:>6.0%}" for name, p in report.profiles.items())
    return "\n".join(lines)
