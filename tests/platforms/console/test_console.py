"""The embedded default end to end: `drillbot run --platform console < script` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEAM_PACK = """\
topics:
  console-test: A topic of this test's own
questions:
  - id: console-overfitting
    topic: console-test
    difficulty: easy
    type: open
    prompt: What is overfitting and how do you prevent it?
    reference_answer: >-
      Overfitting is when a model memorises noise in the training data and generalises badly
      to new data. Regularisation, cross-validation, early stopping and more data help.
    key_points:
      - A model memorises noise and generalises badly to unseen data
      - Regularisation and early stopping limit model complexity
      - Cross-validation detects it; more data reduces it
    follow_ups: ["How does dropout help?"]
"""
SCRIPT = """\
/drill config topics=console-test
/drill help
/drill post-now
Overfitting is when a model memorises noise in the training data and generalises badly; \
regularisation, cross-validation, early stopping and more data help.
/as bob
I have no idea
\u200b\u200b \U0001f937
Overfitting means fitting the noise of the training set rather than the signal.
/drill pause
/as you
/drill leaderboard
/drill close-now
/drill streak
/drill history
/drill config tz=Nowhere/Land
/drill frobnicate
"""


def run_console(
    tmp_path: Path,
    script: str | None,
    *extra_env: tuple[str, str],
    platform: str | None = "console",
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the console on a script, with a team pack whose topic the scripts select.
    `script=None`: standard input is /dev/null (`docker run` without `-i`); `platform=None`:
    `drillbot run` without `--platform`, as the Docker image's default command."""
    packs = tmp_path / "team-packs"
    packs.mkdir(exist_ok=True)
    (packs / "team.yaml").write_text(TEAM_PACK, encoding="utf-8")
    env = {
        **os.environ,
        "DRILLBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "DRILLBOT_PACKS": str(packs),
        **dict(extra_env),
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("SLACK_BOT_TOKEN", None)
    env.pop("DISCORD_TOKEN", None)
    chosen = ["--platform", platform] if platform else []
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", *chosen],
        input=script,
        stdin=subprocess.DEVNULL if script is None else None,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=tmp_path,
        check=False,
    )


def test_console_script_runs_the_daily_loop(tmp_path: Path) -> None:
    result = run_console(tmp_path, SCRIPT)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "drillbot commands:" in out
    assert "=== Extra question #1 [console-test · easy]" in out
    assert "[to you] Your answer to" in out
    # bob's non-answers earn nothing and keep no slot: his real answer after them counts
    assert out.count("It earns nothing: your next reply, edit or form answer") == 2
    assert "[to bob] Your answer to" in out and "0/10 (needs work)" in out
    assert "2 answered." in out
    assert "is for workspace admins" in out  # bob may not pause
    assert "Leaderboard, #console, this week:" in out and " 1. you:" in out
    assert "=== Reveal of daily #1 ===" in out and "Model answer:" in out
    assert "Your streak in console: 1 scheduled day(s)" in out
    assert "Your recent answers:" in out
    assert "unknown timezone 'Nowhere/Land'" in out
    assert "unknown command 'frobnicate'" in out
    assert "Traceback" not in out + result.stderr


def test_console_script_is_deterministic_and_survives_restart(tmp_path: Path) -> None:
    first = run_console(
        tmp_path,
        "/drill config topics=console-test\n/drill post-now\n"
        "an answer that has enough words in it\n",
    )
    assert first.returncode == 0, first.stderr
    # A second run over the same database: the open daily is still there to answer; nothing
    # is posted that the script did not ask for.
    second = run_console(
        tmp_path, "/as carol\nanother answer with enough words here\n/as you\n/drill close-now\n"
    )
    assert second.returncode == 0, second.stderr
    assert "=== Extra question" not in second.stdout and "=== Daily question" not in second.stdout
    assert "[to carol] Your answer to" in second.stdout
    assert "2 answered." in second.stdout


def test_broken_pack_refuses_to_start(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "team.yaml").write_text("questions:\n  - id: x\n    topic: llm\n", encoding="utf-8")
    result = run_console(tmp_path, "", ("DRILLBOT_PACKS", str(packs)))
    assert result.returncode == 2
    assert "team.yaml: question x: field difficulty" in result.stderr


@pytest.mark.parametrize("value", ["U1,U2", '["U1","U2"]'])
def test_list_settings_accept_commas_and_json(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import Settings

    monkeypatch.setenv("DRILLBOT_ADMINS", value)
    monkeypatch.setenv("DRILLBOT_SCHEDULER", "off")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    settings = Settings(_env_file=None)
    assert settings.admins == ["U1", "U2"]
    assert settings.scheduler is False
    assert settings.grader_name == "llm"
    assert "sk-secret-value" not in repr(settings) + str(settings.model_dump())


def test_finding13_a_user_name_cannot_write_an_export_outside_data_files(tmp_path: Path) -> None:
    """Issue 12, finding 13: `/as ../../../../pwned` then `/drill export` wrote outside
    data/files. The name is sanitised into one path component inside the files folder."""
    escaped = tmp_path.parent / "pwned.json"
    escaped.unlink(missing_ok=True)
    result = run_console(tmp_path, "/as ../../../../pwned\n/drill export\n")
    try:
        assert result.returncode == 0, result.stderr
        assert not escaped.exists()
        written = list((tmp_path / "data" / "files").iterdir())
        assert [p.name for p in written] == ["drillbot-export-local-________pwned.json"]
        assert f"saved to {Path('data') / 'files' / written[0].name}" in result.stdout
    finally:
        escaped.unlink(missing_ok=True)


def test_finding10_names_and_grader_text_reach_the_terminal_inert(tmp_path: Path) -> None:
    """Issue 12, finding 10 on the console: a name (`/as`) with terminal escape sequences and
    a model's feedback with a masked link are printed without either."""
    from testing.fake_openai import FakeModel, serve_in_thread

    model = FakeModel()
    model.feedback = "Read [the docs](https://evil.example/steal)\x1b]0;owned\x07 again."
    name = "\x1b]0;owned\x07\x1b[2J\x1b[31meve\u202e"
    script = (
        f"/drill config topics=console-test\n/drill post-now\n/as {name}\n"
        "Overfitting is when a model memorises noise and generalises badly; regularisation, "
        "early stopping and cross-validation help.\n"
    )
    with serve_in_thread(model) as url:
        result = run_console(tmp_path, script, ("OPENAI_BASE_URL", url))
    assert result.returncode == 0, result.stderr
    assert "You are now eve." in result.stdout
    assert "[to eve] Your answer to" in result.stdout
    assert "Read the docs again." in result.stdout
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "evil.example" not in result.stdout


def test_console_self_check_flips_marks_by_number(tmp_path: Path) -> None:
    result = run_console(
        tmp_path,
        "/drill practice console-test\n"
        "Overfitting is when a model memorises noise and generalises badly to new data.\n"
        "/drill check 2 3\n"
        "/drill check 9\n"
        "/drill check two\n",
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "The grader's marks:" in out and "  1. [" in out and "/drill check N" in out
    assert "Self-checked answer #1 (`console-overfitting`)" in out
    assert "does not exist: this answer has key points 1 to 3" in out
    assert "Usage: /drill check [#ANSWER] N" in out
    assert "Traceback" not in out + result.stderr
