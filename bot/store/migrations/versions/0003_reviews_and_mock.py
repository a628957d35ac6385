"""Spaced-repetition reviews and mock interview sessions

Revision ID: 0003_mock
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0003_mock"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("due", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("last_score", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", "question_id"),
    )
    op.create_index("ix_reviews_due", "reviews", ["workspace_id", "user_id", "due"])
    op.create_table(
        "mock_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("hinted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("started_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("active_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mock_user", "mock_sessions", ["workspace_id", "user_id", "state"])
    op.create_table(
        "mock_items",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("follow_up_score", sa.Integer(), nullable=True),
        sa.Column("hinted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("missed", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["mock_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("mock_items")
    op.drop_index("ix_mock_user", table_name="mock_sessions")
    op.drop_table("mock_sessions")
    op.drop_index("ix_reviews_due", table_name="reviews")
    op.drop_table("reviews")
