"""The all-time workspace points board's index: counted answers in user order, covering

Revision ID: 0011_board_users
Revises: 0010_days

`ix_answers_ws_users` serves `bot.store.boards.board` over a whole workspace's history (no
period): read in (user) order it is grouped as it is scanned, with no sort of every answer the
workspace ever had, and it holds `floor` and `points`, so no table row is read either. The
time-first `ix_answers_ws_board` keeps serving bounded periods (the planner's statistics, from
`Database.optimize`, tell the two apart).
"""

from __future__ import annotations

from alembic import op

revision = "0011_board_users"
down_revision = "0010_days"
branch_labels = None
depends_on = None

COLUMNS = ["workspace_id", "kind", "user_id", "floor", "points", "answered_at"]


def upgrade() -> None:
    op.create_index("ix_answers_ws_users", "answers", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_answers_ws_users", table_name="answers")
