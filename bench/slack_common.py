"""What the Slack benchmarks share: the fake Slack in a process of its own, and workspaces.

The fake runs in its own process so its CPU is not billed to the bot being measured (Slack's
servers are not on our machine either); the benchmarks talk to it over loopback like the bot
does, and read its counts through its control endpoints.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from bot.platforms.slack.installations import Workspace

ROOT = Path(__file__).resolve().parent.parent


class FakeSlackProcess:
    """`testing.slack.fake_slack` as a subprocess enforcing Slack's message limits."""

    def __init__(self, channel_interval: float = 1.0, workspace_per_second: int = 10) -> None:
        self.args = [
            "--channel-interval",
            str(channel_interval),
            "--workspace-per-second",
            str(workspace_per_second),
        ]
        self.url = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def __aenter__(self) -> FakeSlackProcess:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "testing.slack.fake_slack",
            *self.args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        self.url = (await self._proc.stdout.readline()).decode().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the fake Slack did not start: {self.url!r}")
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            await self._proc.wait()

    async def add_teams(
        self, teams: list[str], users: list[str] | None = None
    ) -> dict[str, Workspace]:
        """Register workspaces (and users in each); their installations as the bot sees them."""
        assert self._session is not None
        async with self._session.post(
            f"{self.url}/_fake/teams", json={"teams": teams, "users": users or []}
        ) as answer:
            answer.raise_for_status()
        return {t: Workspace(t, f"team {t}", f"xoxb-{t}", f"BB{t}", f"UB{t}") for t in teams}

    async def stats(self) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.get(f"{self.url}/_fake/stats") as answer:
            return dict(await answer.json())


class Installed:
    """Installations held in memory: the benchmarks' workspaces, no decryption per call."""

    def __init__(self, workspaces: dict[str, Workspace]) -> None:
        self._by_team = dict(workspaces)

    async def find(self, team_id: str) -> Workspace | None:
        return self._by_team.get(team_id)

    async def forget(self, team_id: str) -> None:
        self._by_team.pop(team_id, None)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
