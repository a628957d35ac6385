"""drillbot as a real process, for fault tests: started with `drillbot run`, killed with
SIGKILL (no clean-up runs, as after a crash or an OOM kill), restarted on the same database.

The fakes the process talks to (Slack's Web API, an OpenAI-compatible model) run in the test's
own event loop on 127.0.0.1; the process reaches them by URL like any other server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    """One `drillbot run` process; `env` adds to (or overrides) the test's environment."""

    env: dict[str, str]
    log: Path
    platform: str = "slack"
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, ready_within: float = 60.0) -> BotProcess:
        """Start the process and wait until its `/healthz` answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DRILLBOT_", "SLACK_"))}
        env.update({"DRILLBOT_HTTP_PORT": str(self.port), "DRILLBOT_HTTP_HOST": "127.0.0.1"})
        env.update(self.env)
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from bot.cli import main; main()",
                "run",
                "--platform",
                self.platform,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + ready_within
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.returncode is not None:
                    raise AssertionError(f"drillbot exited: {self.log.read_text()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"drillbot did not start: {self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: nothing in the process gets to run again."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM and wait (the clean way); the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return int(self.proc.returncode or 0)
