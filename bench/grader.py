"""(e) The offline grader on one core: answers per second at batch size 1, and its memory.

One fresh child process, pinned to one CPU: it reads its RSS after `import bot.app` (what the
bot holds before any grading: the model must not be loaded yet), grades one answer (the model
loads, lazily, on the grading thread), reads its RSS again, then grades N answers to the shipped
questions one at a time through `OfflineGrader.grade` (the executor hop included; rubric vectors
cached as in the bot: a daily's answers share one question) and reports the rate. Goals
(issue 10): >= 50 answers/s, RSS < 150 MiB before the model loads and at most 250 MB more after.
The rate is answers per CPU second of the pinned child (what one core sustains; the wall-clock
rate is reported beside it, since other load on a shared machine takes the core away).
The answer texts are `bench.common.answer_text` (40-80 words), as in the ingest benchmark; the
rate is shown beside the raw-insert rate of that benchmark when both run.

Run as `python -m bench.grader --child N` to be the child.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

from bench import procstat
from bench.common import Figure, Section, median

GOAL_RATE = 50.0
GOAL_BEFORE_MIB = 150.0
GOAL_MODEL_MB = 250.0
QUESTIONS = 20


def _child(n: int) -> None:
    """Measure in this process (see the module docstring) and print one JSON line."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import bot.app  # noqa: F401  (what every bot process holds)

    before = procstat.rss_kib()
    loaded = "onnxruntime" in sys.modules
    import random

    from bench.common import answer_text, open_bank, shipped_bank
    from bot.grading.base import GradeRequest
    from bot.grading.offline import OfflineGrader

    questions = open_bank(shipped_bank()).open_questions()[:QUESTIONS]
    rng = random.Random(7)
    requests = [GradeRequest(question=questions[i % len(questions)],
                             answer=answer_text(questions[i % len(questions)], rng))
                for i in range(n)]
    grader = OfflineGrader()

    async def run() -> tuple[float, float, float]:
        started = time.perf_counter()
        await grader.grade(requests[0])
        load_s = time.perf_counter() - started
        for request in requests[:QUESTIONS]:  # each question's rubric vectors, once
            await grader.grade(request)
        started, cpu = time.perf_counter(), time.process_time()
        for request in requests:
            await grader.grade(request)
        return load_s, time.perf_counter() - started, time.process_time() - cpu

    load_s, elapsed, cpu_s = asyncio.run(run())
    procstat.emit(before_kib=before, model_loaded_at_import=loaded, load_s=load_s,
                  answers=n, seconds=elapsed, cpu_seconds=cpu_s)


def measure(n: int) -> dict[str, float]:
    """Run the child once and return its figures."""
    done = subprocess.run([sys.executable, "-m", "bench.grader", "--child", str(n)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(n: int, reps: int, raw_rate: float | None = None) -> Section:
    """The grader section: median rate of `reps` children, memory of the first."""
    results = [measure(n) for _ in range(reps)]
    rates = [r["answers"] / r["cpu_seconds"] for r in results]
    rate = median(rates)
    wall = median([r["answers"] / r["seconds"] for r in results])
    first = results[0]
    before_mib = first["before_kib"] / 1024
    added_mb = (first["rss_kib"] - first["before_kib"]) * 1024 / 1e6
    for r in results:
        print(f"  grader: {r['answers'] / r['cpu_seconds']:,.0f} answers per CPU second, "
              f"{r['answers'] / r['seconds']:,.0f}/s by the wall clock", flush=True)
    figures = [
        Figure("grader", "offline grader, 1 core, batch 1", rate, "/s", raw_rate,
               "raw aiosqlite" if raw_rate else "", rate / raw_rate if raw_rate else None,
               f">= {GOAL_RATE:.0f}/s", rate >= GOAL_RATE,
               f"answers per CPU second of the pinned process ({wall:,.0f}/s by the wall clock, "
               f"which other load on the machine lowers); {n} answers of 40-80 words, median of "
               f"{reps}; model load {first['load_s']:.2f} s"),
        Figure("grader", "RSS before the model loads", before_mib, "MiB", None, "", None,
               f"< {GOAL_BEFORE_MIB:.0f} MiB",
               before_mib < GOAL_BEFORE_MIB and not first["model_loaded_at_import"],
               "after `import bot.app`; onnxruntime not imported yet"),
        Figure("grader", "RSS added by the model", added_mb, "MB", None, "", None,
               f"<= {GOAL_MODEL_MB:.0f} MB", added_mb <= GOAL_MODEL_MB,
               "after loading and grading; RSS then "
               f"{first['rss_kib'] / 1024:.0f} MiB"),
    ]
    return Section("grader", figures, {"runs": results, "cpu_rates": rates, "wall_rate": wall})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.grader")
    parser.add_argument("--child", type=int, required=True, help="answers to grade")
    _child(parser.parse_args().child)


if __name__ == "__main__":
    main()
