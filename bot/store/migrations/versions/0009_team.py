"""Team practice: reminders, skip dates and holidays, weekly digests

Revision ID: 0009_team
Revises: 0007_learn
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0009_team"
down_revision = "0007_learn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remind_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("digest", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("holidays", sa.String(length=16), nullable=True))
    with op.batch_alter_table("dailies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", bot.store.tables.UTCDateTime(), nullable=True))
    op.create_table(
        "skip_dates",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "channel_id", "local_date"),
    )
    op.create_table(
        "reminder_prefs",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("daily_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserved_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("sent_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["daily_id"], ["dailies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("daily_id", "user_id", name="uq_reminder_per_daily"),
    )
    op.create_index("ix_reminders_status", "reminders", ["status"])
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("iso_week", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserved_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("posted_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "channel_id", "iso_week", name="uq_digest_week"),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_index("ix_reminders_status", table_name="reminders")
    op.drop_table("reminders")
    op.drop_table("reminder_prefs")
    op.drop_table("skip_dates")
    with op.batch_alter_table("dailies", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("holidays")
        batch_op.drop_column("digest")
        batch_op.drop_column("remind_minutes")
