"""The Slack benchmarks of `make bench` as table rows: fan-out and signed event ingestion.

Both run against the fake Slack Web API (the fan-out's in a subprocess, so the fake's CPU is
not counted against the bot); their modules print full JSON when run alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import slack_events, slack_fanout
from bench.common import Figure, Section


def _fanout_rows(result: dict[str, Any]) -> list[Figure]:
    return [
        Figure(
            bench="slack", metric=f"fan-out {run['channels']} ch / {run['workspaces']} ws "
            f"({run['mode']})", value=run["seconds"], unit="s",
            baseline=run["minimum_seconds"], baseline_label="rate-limit minimum",
            ratio=run["ratio"], goal="<= 1.2x, 0 dropped, 0 dup",
            ok=bool(run["ok"]),
            note=f"{run['dropped']} dropped, {run['duplicated']} duplicated, "
            f"{run['rate_limited_429']} 429s",
        )
        for run in result["runs"]
    ]


def _events_rows(result: dict[str, Any]) -> list[Figure]:
    note = (f"{result['events']} signed events at {result['rate_per_second']:.0f}/s, "
            f"{result['redeliveries']} redeliveries; stored {result['stored_answers']} "
            f"of {result['unique']} unique")
    return [
        Figure(bench="slack", metric="event ack p50", value=result["ack_p50_ms"], unit="ms",
               note=note),
        Figure(bench="slack", metric="event ack p99", value=result["ack_p99_ms"], unit="ms",
               goal="< 300 ms, stored = unique", ok=bool(result["ok"]), note=note),
    ]


def run(quick: bool) -> Section:
    fanout = asyncio.run(slack_fanout.run(quick))
    events = asyncio.run(slack_events.run(quick))
    return Section("slack", _fanout_rows(fanout) + _events_rows(events),
                   {"fanout": fanout, "events": events})
