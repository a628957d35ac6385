"""The process's own memory figures, from /proc/self/status (standard library only).

Kept apart from `bench.common` so the memory benchmark's baseline child can read its RSS after
importing nothing but the app: importing the shared helpers would inflate the baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

STATUS = Path("/proc/self/status")


def status_kib(field: str) -> int:
    """A `kB` field of /proc/self/status (VmRSS, VmHWM...), in KiB; 0 where /proc is missing."""
    try:
        text = STATUS.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def rss_kib() -> int:
    """Resident set size now: what the process holds, not what it once peaked at."""
    return status_kib("VmRSS")


def emit(**extra: object) -> None:
    """Print this process's RSS and peak RSS as one JSON line, for a parent to parse."""
    print(json.dumps({"rss_kib": rss_kib(), "hwm_kib": status_kib("VmHWM"), **extra}),
          flush=True)
