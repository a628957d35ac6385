"""(c) Resident memory with 1,000 configured channels, against the app's bare imports.

Each figure comes from a fresh child process, so it is that process's own RSS and not the
parent's leftovers (the parent has loaded a 1M-row board and run the ingest by then). The child
builds the app as `bot.app.App.build` does (bank, SQLite on a temp dir, migrations, core),
creates one workspace and N channels with varied cron specs and timezones, and reads VmRSS:
after configuring, after a tick at a moment when no slot is due (nothing posts) and after a tick
when every channel's slot is due (every channel posts). The baseline child only runs
`import bot.app`: what any process of the bot holds before it does anything.

Run as `python -m bench.memory --child N` to be the child.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import procstat
from bench.common import ROOT, TIMEZONES, Figure, NullAdapter, Section, median
from bot.app import App
from bot.clock import ManualClock
from bot.config import Settings
from bot.domain.types import ChannelRef

GOAL_MIB = 150.0
WORKSPACE = "W-mem"
#: Channels are created at T0; each one's slot falls 5..119 minutes later, all inside the
#: default 3-hour catch-up window as seen from DUE; IDLE sees none of them yet.
T0 = datetime(2026, 7, 7, 6, 0, 30, tzinfo=UTC)  # a Tuesday, clear of DST changes
IDLE = T0 + timedelta(minutes=4)
DUE = T0 + timedelta(minutes=121)
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def cron_for(index: int, tz: str) -> str:
    """A spec with exactly one slot between IDLE and DUE, in five shapes channels really use:
    daily, weekdays/weekends, twice a day, one weekday, one day of the month."""
    local = (T0 + timedelta(minutes=5 + index % 115)).astimezone(ZoneInfo(tz))
    m, h, day = local.minute, local.hour, _DAYS[local.weekday()]
    shape = index % 5
    if shape == 0:
        return f"{m} {h} * * *"
    if shape == 1:
        return f"{m} {h} * * {'MON-FRI' if local.weekday() < 5 else 'SAT,SUN'}"
    if shape == 2:
        return f"{m} {h},{(h + 12) % 24} * * *"
    if shape == 3:
        return f"{m} {h} * * {day}"
    return f"{m} {h} {local.day} * *"


async def _child(n_channels: int) -> dict[str, Any]:
    """Build the app, configure, tick idle, tick due; RSS (KiB) at each step."""
    with tempfile.TemporaryDirectory(prefix="drillbot-bench-mem-") as tmp:
        clock = ManualClock(T0)
        settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp}/drillbot.db",
                            grader="offline")
        app = await App.build(settings, clock)
        adapter = NullAdapter()
        app.core.platforms.attach(adapter)
        built = procstat.rss_kib()
        await app.core.tenants.ensure_workspace(WORKSPACE, adapter.platform, "bench", "UTC")
        start = time.perf_counter()
        for i in range(n_channels):
            tz = TIMEZONES[i % len(TIMEZONES)]
            await app.core.tenants.ensure_channel(ChannelRef(WORKSPACE, f"C{i:05d}"),
                                                  name=f"ch-{i}", cron=cron_for(i, tz),
                                                  timezone=tz)
        configure_s = time.perf_counter() - start
        configured = procstat.rss_kib()
        clock.set(IDLE)
        start = time.perf_counter()
        await app.core.tick.run()
        idle_tick_s = time.perf_counter() - start
        assert adapter.posted == 0, f"{adapter.posted} posts on the idle tick"
        idle = procstat.rss_kib()
        clock.set(DUE)
        start = time.perf_counter()
        await app.core.tick.run()
        due_tick_s = time.perf_counter() - start
        assert adapter.posted == n_channels, f"{adapter.posted} of {n_channels} channels posted"
        due = procstat.rss_kib()
        await app.close()
    return {"built_kib": built, "configured_kib": configured, "idle_tick_kib": idle,
            "due_tick_kib": due, "hwm_kib": procstat.status_kib("VmHWM"),
            "configure_seconds": configure_s, "idle_tick_seconds": idle_tick_s,
            "due_tick_seconds": due_tick_s}


def _spawn(args: list[str]) -> dict[str, Any]:
    """Run a child in the repository root and parse the JSON on its last output line."""
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(n_channels: int, reps: int, log: bool = True) -> Section:
    """Alternate baseline and measured children; medians in MiB."""
    baseline: list[dict[str, Any]] = []
    measured: list[dict[str, Any]] = []
    for rep in range(reps):
        baseline.append(_spawn(["-c", "import bot.app; from bench.procstat import emit; emit()"]))
        measured.append(_spawn(["-m", "bench.memory", "--child", str(n_channels)]))
        if log:
            m = measured[-1]
            print(f"  memory rep {rep + 1}/{reps}: imports {baseline[-1]['rss_kib'] / 1024:.1f} "
                  f"MiB; configured {m['configured_kib'] / 1024:.1f} MiB, after idle tick "
                  f"{m['idle_tick_kib'] / 1024:.1f} MiB, after due tick "
                  f"{m['due_tick_kib'] / 1024:.1f} MiB", flush=True)

    def mib(rows: list[dict[str, Any]], key: str) -> float:
        return median([r[key] for r in rows]) / 1024

    base = mib(baseline, "rss_kib")
    figures = []
    for key, label in (("configured_kib", "RSS configured"), ("idle_tick_kib", "RSS idle tick"),
                       ("due_tick_kib", "RSS due tick")):
        value = mib(measured, key)
        figures.append(Figure("memory", label, value, "MiB", base, "imports only", value / base,
                              f"< {GOAL_MIB:g} MiB", value < GOAL_MIB))
    figures[0] = replace(figures[0], note=(
        f"{n_channels} channels, median of {reps} fresh processes; ratio = RSS / RSS of "
        f"`import bot.app`; the built app with no channel holds {mib(measured, 'built_kib'):.1f}"
        " MiB"))
    tick = median([m["idle_tick_seconds"] for m in measured])
    due_tick = median([m["due_tick_seconds"] for m in measured])
    figures.append(Figure("memory", "idle tick time", tick * 1000, "ms",
                          note=f"one tick over {n_channels} channels with nothing due; the due "
                               f"tick (all post) took {due_tick:.2f} s"))
    return Section("memory", figures, {
        "channels": n_channels, "reps": reps, "baseline_children": baseline,
        "measured_children": measured, "baseline_mib": base,
        "configured_mib": mib(measured, "configured_kib"),
        "idle_tick_mib": mib(measured, "idle_tick_kib"),
        "due_tick_mib": mib(measured, "due_tick_kib"), "peak_mib": mib(measured, "hwm_kib"),
        "idle_tick_seconds": tick, "due_tick_seconds": due_tick, "goal_mib": GOAL_MIB,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description="The memory benchmark's child process.")
    parser.add_argument("--child", type=int, required=True, metavar="CHANNELS")
    args = parser.parse_args()
    procstat.emit(**asyncio.run(_child(args.child)))


if __name__ == "__main__":
    main()
