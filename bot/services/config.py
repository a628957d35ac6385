"""The settings the services read, as one frozen value the composition root builds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class CoreConfig:
    default_timezone: str = "UTC"
    catchup: timedelta = timedelta(hours=3)
    admins: frozenset[str] = frozenset()
    grading_concurrency: int = 8
    #: Cost guard: graded practice/mock answers per user per rolling 24 hours.
    practice_limit: int = 30
    #: How long a lease on time-driven work or a grading job lasts without renewal (two tick
    #: intervals; the holder renews every interval).
    lease: timedelta = timedelta(minutes=2)
    #: What a tick's posting or closing step waits for its sends before it returns (the
    #: rest go on; a slow channel holds back only itself), in seconds.
    step_settle: float = 20.0
    #: One process per database (SQLite): a post reserved before this process started was
    #: being sent by a process that is gone, so it is taken up at once, not after its lease.
    single_process: bool = False
