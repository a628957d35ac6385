"""Issue 12, finding 3: the console died silently, exit code 0, when a line's handler raised;
the rest of the script was skipped. Each failing line is answered and the session goes on;
a service that dies makes `drillbot run` exit non-zero with the reason."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.app import Core
from bot.platforms.console.service import CHANNEL, WORKSPACE, ConsoleAdapter, ConsoleSession
from testing.storage import refuse_writes


async def test_finding3_a_failing_line_is_answered_and_the_session_goes_on(
    core: Core, tmp_path: Path
) -> None:
    out = io.StringIO()
    adapter = ConsoleAdapter(out=out, files=tmp_path)
    core.platforms.attach(adapter)
    session = ConsoleSession(adapter, core.inbound)
    await core.inbound.ensure_workspace(WORKSPACE, "console", "local")
    await core.inbound.ensure_channel(CHANNEL, name="console")
    for line in ("/drill post-now", "an answer given while the disk still took writes"):
        assert await session.handle_line(line)
    await refuse_writes(core.db)  # the disk turns read-only
    script = [
        "a second answer, sent when nothing can be written",
        "/drill pause",
        "/drill history",
        "/drill leaderboard",
    ]
    for line in script:
        assert await session.handle_line(line)  # the session goes on
    shown = out.getvalue()
    assert "That failed: drillbot's database is read-only, so your answer was NOT saved." in shown
    assert (
        "That failed: drillbot's database is read-only. Nothing was lost: nothing of this "
        "message was stored, so you can send it again." in shown
    )
    assert "Your recent answers:" in shown  # read-only commands still answer
    assert "Leaderboard, #console" in shown


def test_finding3_a_service_that_dies_makes_run_exit_non_zero_with_the_reason(
    tmp_path: Path,
) -> None:
    """Standard input that cannot be read (a file opened for writing only): the console
    service fails at its first read; before, the run ended with exit code 0 and nothing
    said."""
    env = {
        **os.environ,
        "DRILLBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
    }
    for name in ("OPENAI_API_KEY", "SLACK_BOT_TOKEN", "DISCORD_TOKEN", "DRILLBOT_PACKS"):
        env.pop(name, None)
    unreadable = os.open(tmp_path / "out.txt", os.O_WRONLY | os.O_CREAT)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--platform", "console"],
            stdin=unreadable,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
    finally:
        os.close(unreadable)
    assert result.returncode == 1, result.stderr
    assert "drillbot stopped: the console service failed: OSError: " in result.stderr
