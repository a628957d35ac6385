"""The consistency board's index: answers in (channel, user) order with what it counts

Revision ID: 0010_days
Revises: 0008_scale

`ix_answers_days` serves `bot.store.team.Team.user_days`: a board over all time reads a
workspace's whole history, and this index gives it grouped per channel and user (no sort) with
the counted-answer columns, the daily and the time (no table lookup).
"""

from __future__ import annotations

from alembic import op

revision = "0010_days"
down_revision = "0008_scale"
branch_labels = None
depends_on = None

COLUMNS = ["workspace_id", "channel_id", "user_id", "kind", "floor", "daily_id", "answered_at"]


def upgrade() -> None:
    op.create_index("ix_answers_days", "answers", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_answers_days", table_name="answers")
