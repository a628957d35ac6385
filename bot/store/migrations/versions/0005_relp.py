"""Drop slack_oauth_states: Slack OAuth states are signed, not stored

Revision ID: 0005_relp
Revises: 0004_one_head

`GET /slack/install` is unauthenticated and used to write a row per hit; the state now carries
its own expiry and HMAC (bot.platforms.slack.installations.SignedStates), so the table is
unused. Rows left in it were states valid for ten minutes: nothing of value is dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0005_relp"
down_revision = "0004_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("slack_oauth_states")


def downgrade() -> None:
    op.create_table(
        "slack_oauth_states",
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("expires_at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state"),
    )
