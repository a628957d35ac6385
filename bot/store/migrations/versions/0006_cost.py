"""The cost guard's units and the floors result on answers

Revision ID: 0006_cost
Revises: 0005_relp

`units` records each grading request or LLM generation a user started (the cost guard counts
them per user and platform over 24 hours); `answers.floor` keeps intake's floors check,
`answers.counted_texts` how many counted texts an answer has had (a daily answer's first ones
are free), `answers.held_text` a replacement stored over budget and not graded. Existing
answers were all taken as counted, so they start at one counted text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0006_cost"
down_revision = "0005_relp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_units_budget", "units", ["platform", "user_id", "at"])
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("floor", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("counted_texts", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("held_text", sa.Text(), nullable=True))
    op.execute("UPDATE answers SET counted_texts = 1")


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("held_text")
        batch.drop_column("counted_texts")
        batch.drop_column("floor")
    op.drop_index("ix_units_budget", table_name="units")
    op.drop_table("units")
