"""Join the Slack and the reviews/mock branches into one head

Revision ID: 0004_one_head
Revises: 0002_slack, 0003_mock

Both were based on 0001, so the history had two heads. Databases already carry both, so the
branches are merged rather than re-chained; every later migration is based on this one.
"""

from __future__ import annotations

revision = "0004_one_head"
down_revision = ("0002_slack", "0003_mock")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the join only gives the history one head."""


def downgrade() -> None:
    """Nothing to undo."""
