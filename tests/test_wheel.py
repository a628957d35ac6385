"""A built wheel carries the question bank and the prompt templates.

`questions/` and `prompts/` live at the top of the repository (the design card) and are mapped
into the wheel by the build configuration; `bot.config.data_dir` finds them in a checkout and in
an installed wheel alike. This test builds the wheel, installs it into a fresh venv outside the
source tree and runs the installed `drillbot` from there.

The fresh venv gets only the wheel (no dependencies, no network); the dependencies come from the
test's own environment through PYTHONPATH, which adds modules but never runs the checkout's
editable-install hook, so `bot` can only be imported from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "/drill post-now\n/drill help\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with only the built wheel installed, and the environment to run it in."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(dist), str(ROOT)],
        check=True,
    )
    wheel = next(dist.glob("drillbot-*.whl"))
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", str(wheel)],
        check=True,
    )
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("DRILLBOT_")
    }
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    env["DRILLBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{base / 'w.db'}"
    return env_dir, env


def run(env_dir: Path, env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run the installed `drillbot` from a folder outside the source tree."""
    done = subprocess.run(
        [str(env_dir / "bin" / "drillbot"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=env_dir,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bot_is_imported_from_the_wheel(installed: tuple[Path, dict[str, str]]) -> None:
    env_dir, env = installed
    python = env_dir / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import bot.config as c; print(c.__file__); print(c.SHIPPED_PACKS)"],
        capture_output=True, text=True, cwd=env_dir, env=env, check=True,
    ).stdout.split()
    assert where[0].startswith(str(env_dir))
    assert where[1].startswith(str(env_dir)) and where[1].endswith("_data/questions")


def test_installed_wheel_lists_the_shipped_bank(installed: tuple[Path, dict[str, str]]) -> None:
    out = run(*installed, "questions", "stats")
    assert "ml-fundamentals" in out and "total" in out


def test_installed_wheel_runs_a_console_script(installed: tuple[Path, dict[str, str]]) -> None:
    out = run(*installed, "run", "--platform", "console", stdin=SCRIPT)
    assert "/drill practice" in out  # help came back
    assert "=== Extra question #1 [" in out  # a question was posted from the packaged bank
