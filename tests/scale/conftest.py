"""Scale-out tests: real `drillbot` processes on one PostgreSQL database (skipped without one)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.slack_common import FakeSlackProcess
from testing.cluster import scratch_database

POSTGRES_URL = os.environ.get("DRILLBOT_TEST_POSTGRES_URL")


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    if not POSTGRES_URL:  # every process test takes this fixture, so each is skipped
        pytest.skip("DRILLBOT_TEST_POSTGRES_URL is not set: scale-out tests need PostgreSQL")
    async with scratch_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlackProcess]:
    async with FakeSlackProcess() as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
