"""The migration history stays one line: a second head would let two migrations race."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

import bot.store


def test_the_migration_history_has_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(bot.store.__file__).parent / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
