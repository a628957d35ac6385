"""`python -m bench`: run the benchmarks, print the table, write `data/bench/latest.json`.

Defaults are the sizes the goals are stated for (2,000 answers, 1,000,000 stored answers,
1,000 channels), with 3 repetitions each, and fit in about 5 minutes on 2 cores once the board
database is cached. `--quick` shrinks every size for a smoke run; its verdicts are indicative
only, because the goals are stated for the full sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import board, grader, ingest, memory, scale, slack
from bench.common import DATA_DIR, ROOT, Section, table

BENCHES = ("ingest", "grader", "board", "memory", "slack", "scale")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Run drillbot's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", action="append", choices=BENCHES,
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per figure (median)")
    parser.add_argument("--answers", type=int, help="answers ingested per repetition")
    parser.add_argument("--queries", type=int, help="leaderboard queries per repetition")
    parser.add_argument("--channels", type=int, help="channels configured in the memory run")
    parser.add_argument("--json", type=Path, default=DATA_DIR / "latest.json",
                        help="where to write the figures")
    return parser.parse_args()


def _commit() -> str | None:
    """The commit measured, so a JSON file can be matched to the code later."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=False,
                          capture_output=True, text=True)
    return done.stdout.strip() or None


def main() -> None:
    args = _args()
    chosen = args.only or list(BENCHES)
    quick = args.quick
    params = board.Params(workspaces=4, channels=5, per_channel=2_500) if quick else board.Params()
    started = time.perf_counter()
    load_before = os.getloadavg()
    print(f"drillbot benchmarks ({'quick' if quick else 'full'} run, {args.reps} reps, "
          f"{os.cpu_count()} CPUs, load {load_before[0]:.2f})", flush=True)
    sections: list[Section] = []
    if "ingest" in chosen:
        print("(a) ingest", flush=True)
        sections.append(ingest.run(args.answers or (300 if quick else 2_000), args.reps))
    if "grader" in chosen:
        print("(e) offline grader on one core", flush=True)
        raw = next((s.details["raw_per_s"] for s in sections if s.name == "ingest"), None)
        sections.append(grader.run(100 if quick else 500, args.reps, raw))
    if "board" in chosen:
        print("(b) leaderboard", flush=True)
        sections.append(board.run(params, args.queries or (100 if quick else 200), args.reps))
    if "memory" in chosen:
        print("(c) memory", flush=True)
        sections.append(memory.run(args.channels or (200 if quick else 1_000), args.reps))
    if "slack" in chosen:
        print("(d) slack fan-out and events", flush=True)
        sections.append(slack.run(quick))
    if "scale" in chosen:
        print("(e) scale-out on PostgreSQL (3 processes vs 1)", flush=True)
        sections.append(scale.run(quick))
    elapsed = time.perf_counter() - started
    print()
    print(table([f for s in sections for f in s.figures]))
    if quick:
        print("quick run: sizes are below the goals' conditions; verdicts are indicative only")
    print(f"total {elapsed:.0f} s; figures in {args.json}")
    run: dict[str, Any] = {
        "finished_at": datetime.now(UTC).isoformat(), "seconds": elapsed, "quick": quick,
        "reps": args.reps, "commit": _commit(), "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"run": run, **{s.name: s.as_json() for s in sections}},
                                    indent=2, default=str))


if __name__ == "__main__":
    main()
