"""compose.yaml (docker cannot run here): it parses, and its replicas differ only in shard ids."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_postgres_three_identical_replicas_and_a_proxy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    replicas = [services[f"drillbot-{n}"] for n in (1, 2, 3)]
    assert {"postgres", "proxy"} <= set(services)
    settings = [dict(r["environment"]) for r in replicas]
    assert [s.pop("DISCORD_SHARD_IDS") for s in settings] == ["0", "1", "2"]
    assert settings[0] == settings[1] == settings[2]
    assert settings[0]["DRILLBOT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert settings[0]["DRILLBOT_SCHEDULER"] == "on"
    assert settings[0]["DISCORD_SHARD_COUNT"] == "3"
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert all(f"drillbot-{n}:3000" in caddy for n in (1, 2, 3))


def test_the_one_image_carries_the_postgres_driver() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "'.[all]'" in (ROOT / "Dockerfile").read_text()
    assert "postgres" in extras["all"][0]
