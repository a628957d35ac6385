"""The schema, as SQLAlchemy Core tables. Alembic migrations (in `migrations/`) create it.

Every table carries `workspace_id` and every query filters on it, so two workspaces never mix
(docs/design.md "Words"). Times are stored as naive UTC and read back as aware UTC (`UTCDateTime`).
Leaderboards read only `answers`, where an answer's score and points are copied when it is
graded, so a board is one indexed aggregate rather than a join over grades.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC in the database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(moment, datetime)
        return moment.replace(tzinfo=UTC)


metadata = sa.MetaData()

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

channels = sa.Table(
    "channels",
    metadata,
    sa.Column(
        "workspace_id",
        sa.String(64),
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("cron", sa.String(120), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("difficulty", sa.String(16), nullable=False, server_default="mixed"),
    sa.Column("window_minutes", sa.Integer, nullable=True),
    sa.Column("feedback", sa.String(16), nullable=False, server_default="private"),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("schedule_since", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Team practice (docs/design.md "Team practice"): minutes before close a reminder goes
    # (None: off), the weekly digest, and the country whose public holidays are skipped.
    sa.Column("remind_minutes", sa.Integer, nullable=True),
    sa.Column("digest", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("holidays", sa.String(16), nullable=True),
)

dailies = sa.Table(
    "dailies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("question_id", sa.String(80), nullable=False),
    sa.Column("local_date", sa.String(10), nullable=False),
    sa.Column("slot", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # scheduled | extra
    sa.Column("status", sa.String(16), nullable=False),  # reserved | posted | closed
    sa.Column("scheduled_at", UTCDateTime, nullable=False),
    sa.Column("posted_at", UTCDateTime, nullable=True),
    sa.Column("closes_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("message_id", sa.String(64), nullable=True),
    # A lease on sending: the tick re-sends a reserved daily only once this is stale, so a
    # post in flight (post-now in another task or process) is never sent twice.
    sa.Column("send_started_at", UTCDateTime, nullable=True),
    # The process holding that lease (scale-out: several processes share the database).
    sa.Column("lease_owner", sa.String(64), nullable=True),
    # A closed daily's reveal lease: when its current holder started.
    sa.Column("reveal_started_at", UTCDateTime, nullable=True),
    sa.Column("revealed_at", UTCDateTime, nullable=True),
    # When this daily's reminders were reserved (the recipients chosen): once per daily.
    sa.Column("reminded_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("workspace_id", "channel_id", "local_date", "slot", name="uq_daily_slot"),
    sa.ForeignKeyConstraint(
        ["workspace_id", "channel_id"], ["channels.workspace_id", "channels.id"], ondelete="CASCADE"
    ),
)
sa.Index("ix_dailies_status", dailies.c.status, dailies.c.closes_at)
sa.Index("ix_dailies_message", dailies.c.workspace_id, dailies.c.message_id)

answers = sa.Table(
    "answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column(
        "daily_id", sa.Integer, sa.ForeignKey("dailies.id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("question_id", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # daily | late | practice
    sa.Column("source", sa.String(16), nullable=False),  # thread | form | choice | dm
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("message_id", sa.String(64), nullable=True),
    sa.Column("answered_at", UTCDateTime, nullable=False),
    sa.Column("edited_at", UTCDateTime, nullable=True),
    # pending | provisional | graded | floored (a non-answer: never graded) | void (never
    # gradable: see bot.services.grading)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retry_at", UTCDateTime, nullable=True),  # failed grading: not before this
    # How this answer is graded, kept so a retry, re-grade or self-check grades it the same
    # way whatever later happens to the bank: its rubric (in `rubrics`) and a hint's cap.
    sa.Column("rubric_id", sa.String(64), nullable=True),
    sa.Column("grade_cap", sa.Integer, nullable=True),
    # A graded practice answer's review card as it was before this answer moved it
    # ({"card": null} for a new card), so a self-check can replay the review.
    sa.Column("card_before", sa.JSON, nullable=True),
    sa.Column("score", sa.Integer, nullable=True),
    sa.Column("points", sa.Integer, nullable=True),
    # One re-grade on request per answer; an admin override is recorded with who and when.
    sa.Column("regrade_used", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("override_by", sa.String(64), nullable=True),
    sa.Column("override_at", UTCDateTime, nullable=True),
    # A pending or provisional answer is a grading job: the process grading it and when it
    # last renewed that lease (bot.services.grading).
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_at", UTCDateTime, nullable=True),
    # The floors check of intake (`bot.grading.floors`): NULL for an answer, else why it is not
    # one (it earns nothing, counts nowhere and holds no answer slot).
    sa.Column("floor", sa.String(16), nullable=True),
    # How many counted (non-floored) texts this answer has had: a daily answer's first ones are
    # free of the cost guard. A replacement over budget is kept in `held_text`, ungraded.
    sa.Column("counted_texts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("held_text", sa.Text, nullable=True),
    sa.UniqueConstraint("daily_id", "user_id", name="uq_answer_per_daily"),
)

sa.Index(
    "ix_answers_board",
    answers.c.workspace_id,
    answers.c.channel_id,
    answers.c.kind,
    answers.c.answered_at,
    answers.c.user_id,
    answers.c.points,
)
sa.Index(
    "ix_answers_ws_board",
    answers.c.workspace_id,
    answers.c.kind,
    answers.c.answered_at,
    answers.c.user_id,
    answers.c.points,
)
# The consistency board (bot.store.team.Team.user_days): a channel's answers grouped per
# user, covering what a counted answer to a daily needs.
sa.Index(
    "ix_answers_days",
    answers.c.workspace_id,
    answers.c.channel_id,
    answers.c.user_id,
    answers.c.kind,
    answers.c.floor,
    answers.c.daily_id,
    answers.c.answered_at,
)
# The all-time workspace points board (bot.store.boards.board with no period): counted answers
# in user order, grouped as scanned (no sort of a workspace's whole history) and covering (no
# table lookup). Bounded periods stay on the time-first ix_answers_ws_board: with the statistics
# Database.optimize keeps, the planner tells the two apart.
sa.Index(
    "ix_answers_ws_users",
    answers.c.workspace_id,
    answers.c.kind,
    answers.c.user_id,
    answers.c.floor,
    answers.c.points,
    answers.c.answered_at,
)
sa.Index("ix_answers_pending", answers.c.status)

# The rubrics answers are graded against (a bot.domain.rubric.Rubric: the question as asked and
# the key points, with weights, an answer counts against), stored once per workspace and content
# (`id` is the SHA-256 of the canonical JSON), so an answer row stays small. Never updated.
rubrics = sa.Table(
    "rubrics",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("body", sa.JSON, nullable=False),
)

grades = sa.Table(
    "grades",
    metadata,
    sa.Column(
        "answer_id", sa.Integer, sa.ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("grader", sa.String(32), nullable=False),
    sa.Column("grader_version", sa.String(32), nullable=False),
    sa.Column("model", sa.String(120), nullable=True),
    sa.Column("prompt_version", sa.String(32), nullable=True),
    sa.Column("tokens_in", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tokens_out", sa.Integer, nullable=False, server_default="0"),
    sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("detail", sa.JSON, nullable=False),  # the full Grade, as JSON
    sa.Column("graded_at", UTCDateTime, nullable=False),
    # The recorded intent to send this grade's feedback (sent at most once, after it).
    sa.Column("feedback_at", UTCDateTime, nullable=True),
)

# Named leases on time-driven chores (a workspace's fan-out, closing, reveals, grading
# retries): `lease_at` is when `owner` last took or renewed it (bot.store.reserve.Claims).
claims = sa.Table(
    "claims",
    metadata,
    sa.Column("name", sa.String(120), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("lease_at", UTCDateTime, nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("privacy", sa.String(16), nullable=False, server_default="public"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
)

sa.Index("ix_events_seen", events.c.seen_at)

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("sent_at", UTCDateTime, nullable=False),
)

practice = sa.Table(
    "practice",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("question_id", sa.String(80), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
)

# Spaced repetition: one FSRS card per user and question (the card's state as JSON).
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("question_id", sa.String(80), primary_key=True),
    sa.Column("card", sa.JSON, nullable=False),
    sa.Column("due", UTCDateTime, nullable=False),
    sa.Column("last_score", sa.Integer, nullable=False),
    sa.Column("reviewed_at", UTCDateTime, nullable=False),
    sa.Column("answer_id", sa.Integer, nullable=True),  # the answer that last moved it
)
sa.Index("ix_reviews_due", reviews.c.workspace_id, reviews.c.user_id, reviews.c.due)

# A mock interview: the questions planned, where the user is, and what happened to each.
mock_sessions = sa.Table(
    "mock_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # active | paused | finished
    sa.Column("question_ids", sa.JSON, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("follow_up", sa.Text, nullable=True),  # asked and awaiting an answer
    sa.Column("follow_up_rubric", sa.JSON, nullable=True),  # what the follow-up is graded on
    sa.Column("hinted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("active_at", UTCDateTime, nullable=False),
)
sa.Index(
    "ix_mock_user", mock_sessions.c.workspace_id, mock_sessions.c.user_id, mock_sessions.c.state
)

mock_items = sa.Table(
    "mock_items",
    metadata,
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("mock_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("question_id", sa.String(80), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # answered | skipped
    sa.Column("score", sa.Integer, nullable=True),
    sa.Column("follow_up_score", sa.Integer, nullable=True),
    sa.Column("hinted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("missed", sa.JSON, nullable=False),
)

# The cost guard's units: one row per grading request or LLM generation a user started,
# counted per user and platform over a rolling 24 hours (docs/design.md "Grades").
units = sa.Table(
    "units",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("answer_id", sa.Integer, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
)
sa.Index("ix_units_budget", units.c.platform, units.c.user_id, units.c.at)

# A learner's correction of the grader's marks on a practice or mock answer (docs/design.md
# "Grades", Self-check): kept beside the grade, which stays as the grader gave it. `marks`:
# per key point of the answer's rubric, its text, weight, the grader's credit and the learner's.
self_checks = sa.Table(
    "self_checks",
    metadata,
    sa.Column(
        "answer_id", sa.Integer, sa.ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("question_id", sa.String(80), nullable=False),
    sa.Column("marks", sa.JSON, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("grader_score", sa.Integer, nullable=False),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)
sa.Index("ix_self_checks_ws", self_checks.c.workspace_id, self_checks.c.checked_at)

# -- Team practice: skipped dates, reminder opt-outs, reminders and weekly digests --------

skip_dates = sa.Table(
    "skip_dates",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("local_date", sa.String(10), primary_key=True),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# A row only for a user who turned reminders off (or back on): the default is on.
reminder_prefs = sa.Table(
    "reminder_prefs",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One reminder per user per daily: `reserved` (chosen), `sending` (intent recorded, the DM
# under way), then `sent` or `failed`.
reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column(
        "daily_id", sa.Integer, sa.ForeignKey("dailies.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reserved_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("daily_id", "user_id", name="uq_reminder_per_daily"),
)
sa.Index("ix_reminders_status", reminders.c.status)

# One digest per channel per ISO week (`2026-W48`), reserved like a post.
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("iso_week", sa.String(10), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # reserved | sending | posted | failed
    sa.Column("reserved_at", UTCDateTime, nullable=False),
    sa.Column("posted_at", UTCDateTime, nullable=True),
    sa.Column("message_id", sa.String(64), nullable=True),
    sa.UniqueConstraint("workspace_id", "channel_id", "iso_week", name="uq_digest_week"),
)

# -- Slack: installations (tokens encrypted by the platform), OAuth states, post attempts --

slack_installations = sa.Table(
    "slack_installations",
    metadata,
    sa.Column("team_id", sa.String(64), primary_key=True),
    sa.Column("enterprise_id", sa.String(64), nullable=True),
    sa.Column("team_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("app_id", sa.String(64), nullable=True),
    sa.Column("bot_id", sa.String(64), nullable=False),
    sa.Column("bot_user_id", sa.String(64), nullable=False),
    sa.Column("bot_token", sa.Text, nullable=False),  # Fernet ciphertext
    sa.Column("bot_scopes", sa.Text, nullable=False, server_default=""),
    sa.Column("installer_user_id", sa.String(64), nullable=True),
    sa.Column("installed_at", UTCDateTime, nullable=False),
)

slack_post_attempts = sa.Table(
    "slack_post_attempts",
    metadata,
    sa.Column("workspace_id", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("attempted_at", UTCDateTime, nullable=False),
)
