"""Scale-out: lease owners on reserved work, named claims, grading leases, feedback intent

Revision ID: 0008_scale
Revises: 0009_team

- `dailies.lease_owner`: which process holds a reserved post's send lease (`send_started_at`),
  and `dailies.reveal_started_at`: the lease of a closed daily's reveal;
- `answers.lease_owner` / `answers.lease_at`: a grading job's claim (a pending or provisional
  answer is a grading job; `lease_at` is when its holder last renewed it);
- `grades.feedback_at`: when the intent to send this grade's feedback was recorded;
- `claims`: named leases on time-driven chores (a workspace's fan-out, closing, reveals,
  grading retries, housekeeping), so each is done by one process at a time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0008_scale"
down_revision = "0009_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dailies") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("reveal_started_at", bot.store.tables.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_at", bot.store.tables.UTCDateTime(), nullable=True))
    with op.batch_alter_table("grades") as batch:
        batch.add_column(sa.Column("feedback_at", bot.store.tables.UTCDateTime(), nullable=True))
    op.create_table(
        "claims",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("claims")
    with op.batch_alter_table("grades") as batch:
        batch.drop_column("feedback_at")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("lease_at")
        batch.drop_column("lease_owner")
    with op.batch_alter_table("dailies") as batch:
        batch.drop_column("reveal_started_at")
        batch.drop_column("lease_owner")
