"""Issue 12, finding 20: the dependency floors in pyproject.toml admit no release with a
known, fixed security problem (`aiohttp>=3.9` did, and its HTTP server runs Slack's HTTP
mode). Each minimum below is the release that fixed the last advisory we know of."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
FIXED = {
    "aiohttp": "3.14.3",  # GHSA-cq5v-8q36-5273 (and the 3.13.3, 3.13.4, 3.14.2 batches)
    "cryptography": "50.0.0",  # CVE-2026-69247 (46.0.5: CVE-2026-26007, 46.0.7: CVE-2026-39892)
    "jinja2": "3.1.6",  # CVE-2025-27516
    "tqdm": "4.66.3",  # CVE-2024-34062
}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        listed += extra
    return [Requirement(text) for text in listed]


@pytest.mark.parametrize("name", sorted(FIXED))
def test_finding20_every_floor_is_past_the_known_fixes(name: str) -> None:
    found = [r for r in _requirements() if r.name.lower() == name]
    assert found, f"{name} is not declared"
    for requirement in found:
        floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert floors and min(floors) >= Version(FIXED[name]), str(requirement)
