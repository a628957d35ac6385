"""The migration history stays one line: a second head would let two migrations race."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import bot.store
from bot.config import SHIPPED_PACKS
from bot.domain.rubric import Rubric
from bot.packs import load_bank
from bot.store.db import Database
from bot.store.tables import answers, metadata, rubrics


def test_the_migration_history_has_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(bot.store.__file__).parent / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _upgrade_to(connection: sa.Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(bot.store.__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_0007_backfills_rubrics_from_the_current_bank(tmp_path: Path) -> None:
    """Answers stored before rubrics were kept get one: a follow-up's key point texts with the
    bank's weights (weight 1 for a text the bank reworded since), a graded answer the texts
    its grade marked, an ungraded one the whole current rubric; a removed question, none."""
    bank = load_bank([SHIPPED_PACKS])
    q = next(q for q in bank.open_questions() if any(kp.weight == 2 for kp in q.key_points))
    central = next(kp for kp in q.key_points if kp.weight == 2)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    row = {
        "workspace_id": "W",
        "channel_id": "C",
        "user_id": "u",
        "kind": "practice",
        "source": "dm",
        "text": "an answer",
        "answered_at": datetime(2026, 1, 1, tzinfo=UTC),
        "status": "pending",
    }
    old_answers = sa.table(
        "answers",
        *(sa.column(c) for c in row),
        sa.column("question_id"),
        sa.column("rubric", sa.JSON),
    )
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade_to, "0004_one_head")
        await conn.execute(
            old_answers.insert(),
            [
                {**row, "question_id": q.id, "rubric": [central.text, "a reworded point"]},
                {**row, "question_id": q.id, "rubric": None, "status": "graded"},
                {**row, "question_id": q.id, "rubric": None},
                {**row, "question_id": "retired-question-id", "rubric": None},
            ],
        )
        await conn.execute(
            sa.text(
                "INSERT INTO grades (answer_id, workspace_id, score, grader, grader_version,"
                " detail, graded_at) VALUES (2, 'W', 5, 'offline', '1', :d, '2026-01-01')"
            ),
            {"d": json.dumps({"covered": [central.text], "partly": [], "missed": ["old text"]})},
        )
    await db.migrate()
    async with db.read() as conn:
        stored = await conn.execute(
            sa.select(rubrics.c.body)
            .select_from(answers)
            .join(rubrics, rubrics.c.id == answers.c.rubric_id, isouter=True)
            .order_by(answers.c.id)
        )
        follow_up, graded, whole, gone = list(stored.scalars())
        assert await conn.scalar(sa.select(sa.func.count()).select_from(rubrics)) == 3
    await db.close()
    assert [(p.text, p.weight) for p in Rubric.from_json(follow_up).key_points] == [
        (central.text, 2.0),
        ("a reworded point", 1.0),
    ]
    assert [p.text for p in Rubric.from_json(graded).key_points] == [central.text, "old text"]
    assert Rubric.from_json(whole).key_points == tuple(q.key_points)
    assert Rubric.from_json(whole).question.prompt == q.prompt
    assert gone is None


async def test_the_migrations_build_every_index_the_tables_declare(db: Database) -> None:
    """tables.py documents the indexes the queries are planned on (the boards' covering ones
    above all): the migrated schema has each of them, on the same columns in the same order."""
    declared = {
        (table.name, index.name): [c.name for c in index.columns]
        for table in metadata.sorted_tables
        for index in table.indexes
    }

    def built(connection: sa.Connection) -> dict[tuple[str | None, str | None], list[str]]:
        inspector = sa.inspect(connection)
        return {
            (table, index["name"]): [str(c) for c in index["column_names"]]
            for table in {t for t, _ in declared}
            for index in inspector.get_indexes(table)
        }

    async with db.read() as conn:
        migrated = await conn.run_sync(built)
    assert {key: migrated.get(key) for key in declared} == declared
