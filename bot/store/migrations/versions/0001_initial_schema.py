"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 23:42:35.465550
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("seen_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "key"),
    )
    op.create_index("ix_events_seen", "events", ["seen_at"], unique=False)
    op.create_table(
        "notices",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("sent_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "channel_id", "kind"),
    )
    op.create_table(
        "practice",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("started_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    op.create_table(
        "users",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("privacy", sa.String(length=16), server_default="public", nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "id"),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "channels",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("difficulty", sa.String(length=16), server_default="mixed", nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.String(length=16), server_default="private", nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("schedule_since", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("created_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "id"),
    )
    op.create_table(
        "dailies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("posted_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.Column("closes_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("closed_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("send_started_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.Column("revealed_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "channel_id"],
            ["channels.workspace_id", "channels.id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "workspace_id", "channel_id", "local_date", "slot", name="uq_daily_slot"
        ),
    )
    with op.batch_alter_table("dailies", schema=None) as batch_op:
        batch_op.create_index("ix_dailies_message", ["workspace_id", "message_id"], unique=False)
        batch_op.create_index("ix_dailies_status", ["status", "closes_at"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("daily_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("answered_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.Column("edited_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retry_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.Column("rubric", sa.JSON(), nullable=True),
        sa.Column("grade_cap", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("regrade_used", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("override_by", sa.String(length=64), nullable=True),
        sa.Column("override_at", bot.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["daily_id"], ["dailies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("daily_id", "user_id", name="uq_answer_per_daily"),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_answers_board",
            ["workspace_id", "channel_id", "kind", "answered_at", "user_id", "points"],
            unique=False,
        )
        batch_op.create_index("ix_answers_pending", ["status"], unique=False)
        batch_op.create_index(
            "ix_answers_ws_board",
            ["workspace_id", "kind", "answered_at", "user_id", "points"],
            unique=False,
        )

    op.create_table(
        "grades",
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("grader", sa.String(length=32), nullable=False),
        sa.Column("grader_version", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("prompt_version", sa.String(length=32), nullable=True),
        sa.Column("tokens_in", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tokens_out", sa.Integer(), server_default="0", nullable=False),
        sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("graded_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("answer_id"),
    )


def downgrade() -> None:
    op.drop_table("grades")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("ix_answers_ws_board")
        batch_op.drop_index("ix_answers_pending")
        batch_op.drop_index("ix_answers_board")

    op.drop_table("answers")
    with op.batch_alter_table("dailies", schema=None) as batch_op:
        batch_op.drop_index("ix_dailies_status")
        batch_op.drop_index("ix_dailies_message")

    op.drop_table("dailies")
    op.drop_table("channels")
    op.drop_table("workspaces")
    op.drop_table("users")
    op.drop_table("practice")
    op.drop_table("notices")
    op.drop_index("ix_events_seen", table_name="events")
    op.drop_table("events")
