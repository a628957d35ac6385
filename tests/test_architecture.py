"""The layering the folder names promise, checked by walking every import of `bot/`.

- `bot.domain` is pure: it imports nothing of ours that does I/O (only other domain modules,
  the exception tree, the question model and the grade model).
- `bot.store` imports no service, no platform and not the composition root.
- A platform (`bot.platforms`) imports no storage, no service and not the
  composition root: it reaches the core through `bot.ports`.
- No import cycle, between modules or between our packages.

Imports under `if TYPE_CHECKING:` count for the layering (a platform must not even name the
store's types) but not for cycles (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bot"

#: What the pure domain may import of ours. `bot.packs` is the question model (its loader runs
#: at start-up, never from the domain); `bot.grading.base` is the grade model and score bands;
#: `bot.grading.floors` the floors, the pure text check intake and the graders share;
#: `bot.clock` the timezone-name check (the domain reads no clock: times are handed in).
DOMAIN_MAY_IMPORT = (
    "bot.domain",
    "bot.errors",
    "bot.packs",
    "bot.grading.base",
    "bot.grading.floors",
    "bot.clock",
)
STORE_MUST_NOT = ("bot.services", "bot.platforms", "bot.app", "bot.cli")
PLATFORM_MUST_NOT = ("bot.store", "bot.services", "bot.app", "bot.cli")
PLATFORMS = ("bot.platforms",)


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    guarded: bool  # under `if TYPE_CHECKING:`


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path) -> Iterator[Import]:
    module = module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    guarded_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                guarded_lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node, path.name == "__init__.py")
            # `from bot.store import tables` imports the module bot.store.tables
            targets = [
                f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base
                for alias in node.names
            ]
        for target in targets:
            if target == "bot" or target.startswith("bot."):
                yield Import(module, target, node.lineno, node.lineno in guarded_lines)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def all_imports() -> list[Import]:
    return [i for path in sorted(PACKAGE.rglob("*.py")) for i in imports_of(path)]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _show(found: list[Import]) -> str:
    return "\n".join(f"{i.source}:{i.line} imports {i.target}" for i in found)


def package_of(module: str) -> str:
    """`bot.services.intake` -> `bot.services`; top-level modules are their own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as a path that returns to its start; None when acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walk_sees_the_packages() -> None:
    """A walk that found nothing would pass every rule below."""
    sources = {package_of(i.source) for i in all_imports()}
    assert {"bot.domain", "bot.services", "bot.store", "bot.app"} <= sources


def test_domain_imports_nothing_with_io() -> None:
    bad = [
        i
        for i in all_imports()
        if _under(i.source, ("bot.domain",)) and not _under(i.target, DOMAIN_MAY_IMPORT)
    ]
    assert not bad, _show(bad)


def test_store_imports_no_service() -> None:
    bad = [
        i
        for i in all_imports()
        if _under(i.source, ("bot.store",)) and _under(i.target, STORE_MUST_NOT)
    ]
    assert not bad, _show(bad)


def test_platforms_reach_the_core_only_through_the_ports() -> None:
    bad = [
        i
        for i in all_imports()
        if _under(i.source, PLATFORMS) and _under(i.target, PLATFORM_MUST_NOT)
    ]
    assert not bad, _show(bad)


@pytest.mark.parametrize("level", ["module", "package"])
def test_no_import_cycle(level: str) -> None:
    graph: dict[str, set[str]] = {}
    for i in all_imports():
        if i.guarded:
            continue
        source, target = (
            (i.source, i.target)
            if level == "module"
            else (package_of(i.source), package_of(i.target))
        )
        if source != target:
            graph.setdefault(source, set()).add(target)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
