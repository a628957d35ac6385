"""Issue 12, finding 14: SQLAlchemy put the bound parameters (answer text, names) in every
error's text, so a logged failure kept what `forget-me` must purge. Engines are created with
`hide_parameters=True`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.store.db import Database
from bot.store.tables import workspaces

PRIVATE = "my private answer about my health"


async def test_finding14_a_database_error_holds_no_bound_value(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    row = {"id": "W1", "platform": "console", "name": PRIVATE, "timezone": "UTC"}
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with db.write() as conn:
        await conn.execute(workspaces.insert().values(**row, created_at=now))
    # As `drillbot run -v` logs: our loggers at DEBUG, libraries at WARNING (aiosqlite's own
    # DEBUG lines echo every statement's values; they are never switched on).
    caplog.set_level(logging.DEBUG, logger="bot")
    with pytest.raises(sa.exc.IntegrityError) as failed:
        async with db.write() as conn:
            await conn.execute(workspaces.insert().values(**row, created_at=now))
    logging.getLogger("bot.store").exception("the insert failed", exc_info=failed.value)
    assert "parameters hidden" in str(failed.value)
    assert PRIVATE not in str(failed.value)
    assert PRIVATE not in caplog.text
