"""What the platform layer and the shared fakes may import, read from the source with `ast`.

A platform (`bot.platforms.<name>`) imports no other platform: what two need is in
`bot.platforms.common`. The wheel's code imports nothing of `testing/` or `tests/`, and the
shared fakes (`testing/`) and the benchmarks (`bench/`) import nothing of `tests/`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("console", "slack", "discord")


def imported(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; relative imports are not used here)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_platform_imports_no_other_platform(platform: str) -> None:
    others = tuple(f"bot.platforms.{p}" for p in PLATFORMS if p != platform)
    for path in sources(f"bot/platforms/{platform}"):
        crossing = {n for n in imported(path) if n.startswith(others)}
        assert not crossing, f"{path.relative_to(ROOT)} imports {crossing}"


def test_common_imports_no_platform() -> None:
    platforms = tuple(f"bot.platforms.{p}" for p in PLATFORMS)
    for path in sources("bot/platforms/common"):
        crossing = {n for n in imported(path) if n.startswith(platforms)}
        assert not crossing, f"{path.relative_to(ROOT)} imports {crossing}"


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("bot", ("testing", "tests")), ("testing", ("tests",)), ("bench", ("tests",))],
)
def test_fakes_and_benchmarks_stand_apart_from_the_tests(
    folder: str, forbidden: tuple[str, ...]
) -> None:
    for path in sources(folder):
        bad = {n for n in imported(path) if n.split(".")[0] in forbidden}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
