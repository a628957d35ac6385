"""Choose the offline grader's misconception thresholds (`WRONG_AT`) on dev data.

Grades the interview set's dev questions once with misconception detection off, keeping each
answer's measurement of every listed misconception (`Features.wrongs`: how much closer its
closest answer sentence is to the misconception than any correct sentence is), then replays
the grader's own decision (`offline.misstated` and
`OfflineGrader.grade_of`, so the score is the one the grader would give) over a grid of
thresholds. It prints, per setting, the dev Pearson r, the mean score of strong and
wrong-on-the-central-point answers, and how many answers of each profile were charged a
misconception, then the choice: the best dev r (to 3 places; then the most wrong-on-the-central
-point answers charged) among settings that charge at most FALSE_CHARGES of the answers of the
other profiles, none of which states a wrong belief the list names. A wrong charge tells a
learner who was right that they were wrong, which costs more trust than a missed one. The
hold-out questions are refused (`--split dev` is required).

    python evaluation/tune_misconceptions.py interview evaluation/interview_answers.csv - \
        --split dev
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

from bot.grading import offline
from bot.grading.base import GradeRequest
from bot.grading.evaluate import pearson, question_for
from evaluation.offline_features import read_set

AT = (-0.1, -0.06, -0.04, -0.02, 0.0, 0.02, 1.0)
OVER = (-1.0, -0.1, 0.0, 0.02, 0.05, 0.08)
FALSE_CHARGES = 0.02


def main() -> None:
    _, bank, rows, _ = read_set(tuning=True)
    grader = offline.OfflineGrader()
    offline.WRONG_AT = float("inf")  # measure once with detection off; the grid replays it
    graded = []
    for row in rows:
        request = GradeRequest(question=question_for(row, bank), answer=row.answer)
        graded.append((row, request, grader.assess(request)))
    listed = sum(bool(r.misconceptions()) for _, r, _ in graded)
    print(f"{len(graded)} dev answers, {listed} with listed misconceptions on their rubric")
    print(f"{'at':>5} {'over':>5} {'r':>6} {'strong':>6} {'wrong':>6}  charged per profile")
    best: tuple[tuple[float, int], float, float] | None = None
    for at, over in itertools.product(AT, OVER):
        scores, charged = [], Counter[str]()
        for row, request, assessment in graded:
            if assessment.features is None:  # a floor: nothing measured, nothing to charge
                scores.append(grader.grade_of(request, assessment).score)
                continue
            found = offline.misstated(grader._rubric(request), assessment.features,
                                      len(request.rubric), at, over)
            coverages = tuple(0.0 if m is not None else c
                              for c, m in zip(assessment.coverages, found, strict=True))
            replayed = dataclasses.replace(assessment, coverages=coverages, misstated=found)
            scores.append(grader.grade_of(request, replayed).score)
            if any(m is not None for m in found):
                charged[row.profile or "-"] += 1
        r = pearson(scores, [row.target * 10 for row, _, _ in graded])
        by = {p: [s for (row, _, _), s in zip(graded, scores, strict=True) if row.profile == p]
              for p in ("strong", "wrong_central")}
        mean = {p: sum(v) / len(v) for p, v in by.items()}
        print(f"{at:5.2f} {over:5.2f} {r:6.3f} {mean['strong']:6.2f} "
              f"{mean['wrong_central']:6.2f}  {dict(sorted(charged.items()))}")
        others = sum(n for p, n in charged.items() if p != "wrong_central")
        rank = (round(r, 3), charged["wrong_central"])
        if others <= FALSE_CHARGES * sum(row.profile != "wrong_central" for row, _, _ in graded) \
                and (best is None or rank > best[0]):
            best = (rank, at, over)
    if best is not None:
        print(f"chosen: WRONG_AT={best[1]}, WRONG_OVER={best[2]} (dev r {best[0][0]:.3f})")


if __name__ == "__main__":
    main()
