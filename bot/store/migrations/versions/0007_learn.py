"""Stored rubrics, self-checks and the review card before each answer

Revision ID: 0007_learn
Revises: 0006_cost

Every answer keeps the rubric it is graded against (`answers.rubric_id` naming a row of
`rubrics`, stored once per workspace and content: the question as asked and the key points with
weights; until now `answers.rubric` held key point texts for follow-ups only), a
follow-up keeps its narrowed rubric in its session, a graded practice answer keeps the review
card as it was before it (`answers.card_before`, so a self-check can replay the review) and
a card names the answer that last moved it. `self_checks` holds a learner's corrections of
the grader's marks. Existing answers are backfilled from the current bank where it still has
their question: the key point texts they named (an older follow-up's list, or the grade's
marks), with the bank's weights where a text still matches and weight 1 where it does not.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0007_learn"
down_revision = "0006_cost"
branch_labels = None
depends_on = None


def _bank() -> Any:
    """Today's bank (shipped packs and DRILLBOT_PACKS); the shipped packs alone if the extra
    packs cannot be read; None when not even those load (then nothing is backfilled)."""
    from bot.config import SHIPPED_PACKS, Settings
    from bot.packs import load_bank

    try:
        return load_bank(Settings().pack_paths)
    except Exception:
        try:
            return load_bank([SHIPPED_PACKS])
        except Exception:
            return None


def backfill_rubric(question: Any, named: list[str] | None) -> Any:
    """The rubric of an answer to `question` that named these key point texts (None: every
    key point of the question)."""
    from bot.domain.rubric import Rubric
    from bot.packs import KeyPoint

    if not named:
        return Rubric.of(question)
    by_text = {kp.text: kp for kp in question.key_points}
    order = {kp.text: i for i, kp in enumerate(question.key_points)}
    texts = sorted(dict.fromkeys(named), key=lambda t: order.get(t, len(order)))
    points = [by_text.get(t) or KeyPoint.model_construct(text=t, weight=1.0) for t in texts]
    return Rubric.of(question, points)


def upgrade() -> None:
    op.create_table(
        "rubrics",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "id"),
    )
    op.add_column("answers", sa.Column("rubric_id", sa.String(length=64), nullable=True))
    op.add_column("answers", sa.Column("card_before", sa.JSON(), nullable=True))
    op.add_column("mock_sessions", sa.Column("follow_up_rubric", sa.JSON(), nullable=True))
    op.add_column("reviews", sa.Column("answer_id", sa.Integer(), nullable=True))
    op.create_table(
        "self_checks",
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("marks", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("grader_score", sa.Integer(), nullable=False),
        sa.Column("checked_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("answer_id"),
    )
    op.create_index("ix_self_checks_ws", "self_checks", ["workspace_id", "checked_at"])
    _backfill()
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("rubric")


def _backfill() -> None:
    conn = op.get_bind()
    answers = sa.table(
        "answers",
        sa.column("id", sa.Integer),
        sa.column("workspace_id", sa.String),
        sa.column("question_id", sa.String),
        sa.column("rubric", sa.JSON),
        sa.column("rubric_id", sa.String),
    )
    rubrics = sa.table(
        "rubrics", sa.column("workspace_id"), sa.column("id"), sa.column("body", sa.JSON)
    )
    grades = sa.table("grades", sa.column("answer_id", sa.Integer), sa.column("detail", sa.JSON))
    if not conn.scalar(sa.select(sa.func.count()).select_from(answers)):
        return
    bank = _bank()
    if bank is None:
        return
    rows = conn.execute(
        sa.select(
            answers.c.id,
            answers.c.workspace_id,
            answers.c.question_id,
            answers.c.rubric,
            grades.c.detail,
        ).join(grades, grades.c.answer_id == answers.c.id, isouter=True)
    ).all()
    stored: dict[tuple[str, str], Any] = {}
    updates = []
    for row in rows:
        question = bank.get(row.question_id)
        if question is None:
            continue  # gone from the bank: history keeps it; it cannot be graded again
        named = row.rubric if isinstance(row.rubric, list) else None
        if named is None and row.detail:
            named = [
                text
                for part in ("covered", "partly", "missed")
                for text in row.detail.get(part) or []
            ]
        key, body = backfill_rubric(question, named).stored()
        stored[(row.workspace_id, key)] = body
        updates.append({"_id": row.id, "rubric_id": key})
    if stored:
        conn.execute(
            rubrics.insert(),
            [{"workspace_id": w, "id": key, "body": body} for (w, key), body in stored.items()],
        )
        conn.execute(answers.update().where(answers.c.id == sa.bindparam("_id")), updates)


def downgrade() -> None:
    op.drop_index("ix_self_checks_ws", table_name="self_checks")
    op.drop_table("self_checks")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("answer_id")
    with op.batch_alter_table("mock_sessions") as batch:
        batch.drop_column("follow_up_rubric")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("card_before")
        batch.drop_column("rubric_id")
        batch.add_column(sa.Column("rubric", sa.JSON(), nullable=True))
    op.drop_table("rubrics")
