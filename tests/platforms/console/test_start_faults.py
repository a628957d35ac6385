"""What `drillbot run` does when it cannot start or a service dies: one clear line on stderr,
a non-zero exit, and nothing touched (issue 12, findings 3, 12 and 17)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tests.platforms.console.test_console import run_console


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_finding17_a_corrupt_database_gets_one_line_and_is_not_touched(tmp_path: Path) -> None:
    """It printed a 194-line traceback."""
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not an SQLite database, " * 256)
    before = _digest(bad)
    result = run_console(
        tmp_path, "/drill help\n", ("DRILLBOT_DATABASE_URL", f"sqlite+aiosqlite:///{bad}")
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"drillbot cannot start: the database sqlite+aiosqlite:///{bad} cannot be used: file "
        "is not a database (is it drillbot's database, reachable and writable?)"
    ]
    assert result.stdout == ""
    assert _digest(bad) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db", "team-packs"]


def test_finding17_a_read_only_database_gets_one_line_and_is_not_touched(
    tmp_path: Path,
) -> None:
    """Opened read-only (SQLite's `mode=ro`, as a read-only mount or file would be): the
    migration or the first write fails, and the file is left as it was."""
    made = run_console(tmp_path, "/drill help\n")  # a real drillbot database, c.db
    assert made.returncode == 0, made.stderr
    db = tmp_path / "c.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(db)
    url = f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true"
    result = run_console(tmp_path, "/drill help\n", ("DRILLBOT_DATABASE_URL", url))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("drillbot cannot start: the database ")
    assert line.endswith(
        "cannot be used: attempt to write a readonly database (is it drillbot's database, "
        "reachable and writable?)"
    )
    assert _digest(db) == before


def test_finding12_the_default_command_on_dev_null_says_how_to_configure_a_platform(
    tmp_path: Path,
) -> None:
    """`docker run drillbot` (no -i, no token) hung for ever on /dev/null."""
    result = run_console(tmp_path, None, platform=None, timeout=30)
    assert result.returncode == 2
    assert "no chat platform is configured" in result.stderr
    assert "DISCORD_TOKEN" in result.stderr and "docker run -it" in result.stderr
    assert not (tmp_path / "c.db").exists()  # nothing started


def test_finding12_the_console_named_on_dev_null_reads_an_empty_script(tmp_path: Path) -> None:
    result = run_console(tmp_path, None, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_finding12_a_script_piped_to_the_default_command_still_runs(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/drill help\n", platform=None)
    assert result.returncode == 0, result.stderr
    assert "drillbot commands:" in result.stdout
