"""The README's team-practice demo, run as a user would: `drillbot run --speed` in a terminal
(a pseudo-terminal, so the console ticks as it does interactively). Whatever the weekday it
starts on, a simulated week or two shows a Monday digest of the answer and a private
reminder."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

#: The lines the README tells the user to type.
SCRIPT = [
    "/drill config remind=12h",
    "/drill post-now",
    "A hash index gives constant time point lookups; a B-tree keeps keys sorted for ranges.",
]
#: What each line's answer starts with (the next line is typed once it is shown).
REPLIES = [b"remind: 720 min", b"=== Extra question", b"[to you] Your answer"]
#: 20,000x: a simulated week in about 30 s; one tick (1 s real) is 5.6 simulated hours, less
#: than the 12 h reminder lead and the catch-up window set below.
SPEED = "20000"


def test_a_simulated_week_shows_a_digest_and_a_reminder(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "SLACK_", "DISCORD_", "DRILLBOT_"))
    }
    env |= {
        "DRILLBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "DRILLBOT_CATCHUP_HOURS": "12",
    }
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--platform", "console", "--speed", SPEED],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=tmp_path,
    )
    os.close(terminal)
    seen = bytearray()

    def read_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    seen.extend(os.read(controller, 65536))
                except OSError:
                    return

    def wait_for(marker: bytes, seconds: float) -> None:
        end = time.monotonic() + seconds
        while marker not in seen and time.monotonic() < end:
            read_for(0.2)

    try:
        wait_for(b"drillbot console", 30)
        for line, reply in zip(SCRIPT, REPLIES, strict=True):
            os.write(controller, (line + "\n").encode())
            wait_for(reply, 30)
        for _ in range(3):  # at this speed a scheduled MCQ daily can open in between: again
            if b"[to you] Your answer" in seen:
                break
            for line in SCRIPT[1:]:
                os.write(controller, (line + "\n").encode())
                read_for(0.5)
            wait_for(REPLIES[-1], 10)
        end = time.monotonic() + 120
        while time.monotonic() < end and not (
            b"Participation: 1 person" in seen and b"[DM to you] Reminder" in seen
        ):
            read_for(1)
        os.write(controller, b"/quit\n")
        read_for(1)
    finally:
        process.terminate()
        process.wait(10)
        os.close(controller)
    text = seen.decode(errors="replace")
    assert "remind: 720 min before close" in text
    assert "=== Weekly digest for #console" in text
    assert "Participation: 1 person answered 1 time(s)" in text
    assert "[DM to you] Reminder: today's drill question in #console closes in" in text
