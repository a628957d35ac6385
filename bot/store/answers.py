"""Answers in, grades out: the intake and grading writes, grouped across concurrent answers.

`ingest` stores answers (with their idempotency keys and users) and `save_grades` stores grades
(with points and review cards); both go through group commit, so 64 users answering at once
share a handful of transactions, and each statement covers a whole batch where it can (one
multi-row insert of the batch's event keys, one of its users, one of its daily answers).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.costs import Charge, Over
from bot.domain.streaks import Points, Streak, fold_streak, points_for
from bot.store.boards import streak_days
from bot.store.db import Database, upsert
from bot.store.group import GroupCommit
from bot.store.reviews import move_cards
from bot.store.rows import AnswerRow, DailyRow, HistoryRow
from bot.store.tables import (
    answers,
    channels,
    events,
    grades,
    mock_sessions,
    practice,
    rubrics,
    users,
)
from bot.store.units import lock_budgets, spend

#: How many stored rubrics (workspace, key) intake remembers, to skip writing them again.
RUBRICS_REMEMBERED = 4096
#: An answer never tried yet is being graded by whoever stored it: the retry leaves it a while.
FRESH_GRACE = timedelta(minutes=2)


#: What became of a request to re-grade: under way, refused (already used, overridden or
#: floored), or refused over budget.
Regrade = Literal["regrading", "used"] | Over


@dataclass(frozen=True)
class NewAnswer:
    """An answer to store, with what its kind asks of the store.

    `replaces`: for a daily answer, whether it may replace the user's existing one (an edit, a
    new form answer); `practice`: it answers the user's waiting practice question (stored only
    if that question still waits); `session_id`: a mock session it moves on; `floor`: intake's
    floors check (None: an answer); `charge`: the cost guard's unit a counted text of it spends
    (None for a floored answer or a kind that starts no grading request)."""

    workspace_id: str
    user_id: str
    user_name: str
    event_key: str | None
    channel_id: str
    question_id: str
    daily_id: int | None
    kind: str
    source: str
    text: str
    message_id: str | None
    answered_at: datetime
    now: datetime
    rubric: tuple[str, dict[str, Any]] | None = None  # (content key, stored form)
    grade_cap: int | None = None
    replaces: Callable[[AnswerRow], bool] | None = None
    practice: bool = False
    session_id: int | None = None
    floor: str | None = None
    charge: Charge | None = None

    def with_rubric(self, row: AnswerRow) -> AnswerRow:
        """The stored row with the rubric it was stored with (no need to read it back)."""
        return dataclasses.replace(row, rubric=self.rubric[1] if self.rubric else None)

    def row(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "channel_id": self.channel_id,
            "daily_id": self.daily_id,
            "user_id": self.user_id,
            "question_id": self.question_id,
            "kind": self.kind,
            "source": self.source,
            "text": self.text,
            "message_id": self.message_id,
            "answered_at": self.answered_at,
            "status": "pending" if self.floor is None else "floored",
            "rubric_id": self.rubric[0] if self.rubric else None,
            "grade_cap": self.grade_cap,
            "floor": self.floor,
            "counted_texts": 0 if self.floor else 1,
        }

    def as_new(self) -> dict[str, Any]:
        """What replacing a floored answer sets: the new answer is an answer of its own, timed
        at its own send time (editing a placeholder keeps no first-hour bonus)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "message_id": self.message_id,
            "answered_at": self.answered_at,
            "edited_at": None,
        }


@dataclass(frozen=True)
class Stored:
    """What became of a `NewAnswer`: `stored` or `replaced` (with the row), `held` (a
    replacement over budget: kept in the row's `held_text`, the answer and its grade unchanged),
    `over` (refused over budget: nothing stored), `seen` (its event key was recorded before),
    `taken` (the user's answer slot holds another answer) or `gone` (the practice question it
    answers no longer waits). `over`: when the budget frees up, for `held` and `over`."""

    outcome: Literal["stored", "replaced", "held", "over", "seen", "taken", "gone"]
    answer: AnswerRow | None = None
    over: Over | None = None


@dataclass(frozen=True)
class NewGrade:
    """A grade to store for an answer as it was read for grading (with its daily, when it
    answers one): written only if the answer is unchanged since (not edited, forgotten or
    regraded meanwhile)."""

    answer: AnswerRow
    daily: DailyRow | None
    detail: dict[str, Any]
    status: str
    graded_at: datetime
    #: The feedback will be sent: the intent is recorded with the grade (`feedback_at`), so
    #: only the process whose grade was written sends it, at most once.
    feedback: bool = False


@dataclass(frozen=True)
class Graded:
    """A stored grade's consequences: points and the streak as of the answer's day (counted
    daily answers only), and the channel's feedback mode."""

    points: Points | None
    streak: Streak | None
    feedback_mode: str | None


class Answers:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ingest: GroupCommit[NewAnswer, Stored] = GroupCommit(db, self._ingest_batch)
        #: Rubrics known to be stored (content-addressed and never deleted, so this can only
        #: be stale by being short), most recent last.
        self._rubrics: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._grades: GroupCommit[NewGrade, Graded | None] = GroupCommit(db, self._grade_batch)

    # -- intake -----------------------------------------------------------------------------

    async def ingest(self, answer: NewAnswer) -> Stored:
        """Store an answer (its event key and user with it); returns once committed."""
        stored = await self._ingest.submit(answer)
        if answer.rubric is not None and stored.answer is not None:
            # Committed: later batches need not write this rubric again.
            self._rubrics[(answer.workspace_id, answer.rubric[0])] = None
            if len(self._rubrics) > RUBRICS_REMEMBERED:
                self._rubrics.popitem(last=False)
        return stored

    async def _ingest_batch(self, conn: AsyncConnection, items: list[NewAnswer]) -> list[Stored]:
        results: list[Stored | None] = [None] * len(items)
        await lock_budgets(conn, [a.user_id for a in items if a.charge is not None])
        keyed = [(i, a) for i, a in enumerate(items) if a.event_key]
        if keyed:
            fresh = set(
                (
                    await conn.execute(
                        self.db.insert_ignore(events).returning(
                            events.c.workspace_id, events.c.key
                        ),
                        [
                            {"workspace_id": a.workspace_id, "key": a.event_key, "seen_at": a.now}
                            for _, a in keyed
                        ],
                    )
                ).all()
            )
            claimed: set[tuple[str, str | None]] = set()
            for i, a in keyed:
                key = (a.workspace_id, a.event_key)
                if key not in fresh or key in claimed:
                    results[i] = Stored("seen")
                claimed.add(key)
        live = [(i, a) for i, a in enumerate(items) if results[i] is None]
        if not live:
            return [r or Stored("seen") for r in results]
        kept = {
            (a.workspace_id, a.rubric[0]): a.rubric[1]
            for _, a in live
            if a.rubric and (a.workspace_id, a.rubric[0]) not in self._rubrics
        }
        if kept:  # one copy per workspace and content: most of a batch shares one
            await conn.execute(
                self.db.insert_ignore(rubrics),
                [{"workspace_id": w, "id": key, "body": body} for (w, key), body in kept.items()],
            )
        people = {(a.workspace_id, a.user_id): a.user_name or a.user_id for _, a in live}
        await conn.execute(
            self.db.insert_ignore(users),
            [{"workspace_id": w, "id": u, "name": n} for (w, u), n in people.items()],
        )
        daily = [(i, a) for i, a in live if a.daily_id is not None]
        if daily:
            inserted = {
                (r.daily_id, r.user_id): AnswerRow.of(r)
                for r in await conn.execute(
                    self.db.insert_ignore(answers).returning(*answers.c),
                    [a.row() for _, a in daily],
                )
            }
            for i, a in daily:
                # a daily's first counted text is free of the cost guard (its policy's `free`)
                row = inserted.pop((a.daily_id, a.user_id), None)
                results[i] = (
                    Stored("stored", a.with_rubric(row)) if row else await self._replace(conn, a)
                )
        for i, a in live:
            if a.daily_id is None:
                results[i] = await self._practice(conn, a)
            done = results[i]
            if a.session_id is not None and done is not None and done.answer is not None:
                await conn.execute(
                    mock_sessions.update()
                    .where(mock_sessions.c.id == a.session_id)
                    .values(active_at=a.now)
                )
        return [r or Stored("seen") for r in results]

    async def _replace(self, conn: AsyncConnection, a: NewAnswer) -> Stored:
        """The user's answer slot is taken: replace that answer if the new one may. A floored
        text replaces for free and leaves the slot open; a counted one spends a unit once the
        answer has had its free counted texts, and over budget it is held, ungraded."""
        found = (
            await conn.execute(
                sa.select(answers).where(
                    answers.c.daily_id == a.daily_id, answers.c.user_id == a.user_id
                )
            )
        ).first()
        existing = AnswerRow.of(found) if found else None
        if existing is None or a.replaces is None or not a.replaces(existing):
            return Stored("taken")
        values: dict[str, Any] = {
            "text": a.text,
            "floor": a.floor,
            "held_text": None,
            "edited_at": a.now,
            "score": None,
            "points": None,
        }
        if a.floor is not None:
            values["status"] = "floored"
            await conn.execute(grades.delete().where(grades.c.answer_id == existing.id))
        else:
            counted = existing.counted_texts + 1
            if a.charge is not None and a.charge.due(counted):
                over = await spend(conn, a.charge, existing.id)
                if over is not None:
                    await conn.execute(
                        answers.update()
                        .where(answers.c.id == existing.id)
                        .values(held_text=a.text, edited_at=a.now)
                    )
                    return Stored("held", existing, over)
            values.update(status="pending", counted_texts=counted)
        if existing.floor is not None:
            values.update(a.as_new())
        row = (
            await conn.execute(
                answers.update()
                .where(answers.c.id == existing.id)
                .values(values)
                .returning(*answers.c)
            )
        ).one()
        # The edit is graded on the rubric the first answer kept (the daily asked it so).
        body = await conn.scalar(
            sa.select(rubrics.c.body).where(
                rubrics.c.workspace_id == a.workspace_id, rubrics.c.id == row.rubric_id
            )
        )
        return Stored("replaced", dataclasses.replace(AnswerRow.of(row), rubric=body))

    async def _practice(self, conn: AsyncConnection, a: NewAnswer) -> Stored:
        """A practice or mock answer: it takes the waiting practice question and spends its unit
        (refused over budget: nothing stored, the question still waits); a floored one spends
        nothing and leaves the question waiting."""
        mine = (
            practice.c.workspace_id == a.workspace_id,
            practice.c.user_id == a.user_id,
            practice.c.question_id == a.question_id,
        )
        waiting = (
            (await conn.execute(sa.select(practice).where(*mine))).first() if a.practice else None
        )
        if a.practice and waiting is None:
            return Stored("gone")
        counted = a.floor is None
        if counted and a.practice and (
            await conn.execute(practice.delete().where(*mine))
        ).rowcount == 0:
            return Stored("gone")  # another answer took it meanwhile
        row = (await conn.execute(answers.insert().values(a.row()).returning(*answers.c))).one()
        if counted and a.charge is not None and a.charge.due(1):
            over = await spend(conn, a.charge, row.id)
            if over is not None:
                await conn.execute(answers.delete().where(answers.c.id == row.id))
                if waiting is not None:  # the question still waits
                    await conn.execute(practice.insert().values(dict(waiting._mapping)))
                return Stored("over", over=over)
        return Stored("stored", a.with_rubric(AnswerRow.of(row)))

    # -- lookups ----------------------------------------------------------------------------

    async def get(self, answer_id: int, workspace_id: str | None = None) -> AnswerRow | None:
        """An answer by id; with `workspace_id`, only if it belongs to that workspace (every id a
        user typed is looked up this way, so no workspace reaches another's answers)."""
        query = _with_rubric(sa.select(answers)).where(answers.c.id == answer_id)
        if workspace_id is not None:
            query = query.where(answers.c.workspace_id == workspace_id)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return AnswerRow.of(row) if row else None

    async def latest(self, workspace_id: str, user_id: str) -> AnswerRow | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    _with_rubric(sa.select(answers))
                    .where(answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
                    .order_by(answers.c.answered_at.desc(), answers.c.id.desc())
                    .limit(1)
                )
            ).first()
        return AnswerRow.of(row) if row else None

    async def owed_a_grade(
        self, now: datetime, max_attempts: int, limit: int, untried_before: datetime | None = None
    ) -> list[int]:
        """Answers whose grading is due again: pending ones first (no grade at all), then
        provisional ones, oldest first; each failure pushes `retry_at` further out. An answer
        never tried is owed once stored before `untried_before` (default: FRESH_GRACE ago)."""
        if untried_before is None:
            untried_before = now - FRESH_GRACE
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(answers.c.id)
                .where(
                    answers.c.status.in_(("pending", "provisional")),
                    answers.c.attempts < max_attempts,
                    sa.or_(answers.c.retry_at.is_(None), answers.c.retry_at <= now),
                    sa.or_(
                        answers.c.attempts > 0,
                        sa.func.coalesce(answers.c.edited_at, answers.c.answered_at)
                        < untried_before,
                    ),
                )
                .order_by(sa.case((answers.c.status == "pending", 0), else_=1), answers.c.id)
                .limit(limit)
            )
            return [r.id for r in rows]

    async def history(self, workspace_id: str, user_id: str, limit: int = 10) -> list[HistoryRow]:
        query = (
            sa.select(
                answers.c.id,
                answers.c.question_id,
                answers.c.kind,
                answers.c.status,
                answers.c.score,
                answers.c.points,
                answers.c.answered_at,
                grades.c.detail,
            )
            .join(grades, grades.c.answer_id == answers.c.id, isouter=True)
            .where(answers.c.workspace_id == workspace_id, answers.c.user_id == user_id)
            .order_by(answers.c.answered_at.desc(), answers.c.id.desc())
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [HistoryRow.of(r) for r in await conn.execute(query)]

    async def answered_questions(
        self, workspace_id: str, user_id: str, since: datetime
    ) -> list[str]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(answers.c.question_id)
                .distinct()
                .where(
                    answers.c.workspace_id == workspace_id,
                    answers.c.user_id == user_id,
                    answers.c.answered_at >= since,
                )
            )
            return list(rows.scalars())

    async def activity(self, workspace_id: str, user_id: str, since: datetime) -> list[datetime]:
        """When the user answered anything since `since` (for the activity chart)."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(answers.c.answered_at).where(
                    answers.c.workspace_id == workspace_id,
                    answers.c.user_id == user_id,
                    answers.c.answered_at >= since,
                )
            )
            return list(rows.scalars())

    # -- grades -----------------------------------------------------------------------------

    async def save_grade(self, grade: NewGrade) -> Graded | None:
        """Store a grade with its points (and move the review card, for a final grade) unless
        the answer changed since it was read for grading: then nothing is written (None).
        Grouped with concurrent grades."""
        return await self._grades.submit(grade)

    async def _grade_batch(
        self, conn: AsyncConnection, items: list[NewGrade]
    ) -> list[Graded | None]:
        query = sa.select(answers.c.id, answers.c.status, answers.c.text).where(
            answers.c.id.in_([g.answer.id for g in items])
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        current = {r.id: (r.status, r.text) for r in await conn.execute(query)}
        kept: list[NewGrade] = []
        for g in items:
            if current.pop(g.answer.id, None) == (g.answer.status, g.answer.text):
                kept.append(g)  # a second grade of one answer in a batch finds it popped
        if not kept:
            return [None] * len(items)
        scored = await _points(conn, kept)
        await conn.execute(
            answers.update()
            .where(answers.c.id == sa.bindparam("_id"))
            .values(
                status=sa.bindparam("_status"),
                score=sa.bindparam("_score"),
                points=sa.bindparam("_points"),
                lease_owner=None,  # the grading job is done (bot.store.jobs)
                lease_at=None,
            ),
            [
                {
                    "_id": g.answer.id,
                    "_status": g.status,
                    "_score": g.detail["score"],
                    "_points": points.total if points else None,
                }
                for g, (points, _) in zip(kept, scored, strict=True)
            ],
        )
        await conn.execute(_upsert_many(conn, grades, ["answer_id"]), [_grade_row(g) for g in kept])
        await move_cards(
            conn,
            [
                (
                    g.answer.workspace_id,
                    g.answer.user_id,
                    g.answer.question_id,
                    g.detail["score"],
                    g.answer.id if g.answer.kind == "practice" else None,  # self-checkable
                )
                for g in kept
                if g.status == "graded"
            ],
            max(g.graded_at for g in kept),
        )
        modes = await _feedback_modes(
            conn, {(g.answer.workspace_id, g.answer.channel_id) for g in kept}
        )
        done = {
            g.answer.id: Graded(
                points, streak, modes.get((g.answer.workspace_id, g.answer.channel_id))
            )
            for g, (points, streak) in zip(kept, scored, strict=True)
        }
        seen: set[int] = set()
        results: list[Graded | None] = []
        for g in items:
            results.append(done.get(g.answer.id) if g.answer.id not in seen else None)
            seen.add(g.answer.id)
        return results

    async def failed(self, answer: AnswerRow, retry_at: datetime) -> None:
        """Count a failed grading and push the next try out."""
        async with self.db.write() as conn:
            await conn.execute(
                answers.update()
                .where(answers.c.id == answer.id)
                .values(
                    attempts=answer.attempts + 1, retry_at=retry_at, lease_owner=None, lease_at=None
                )
            )

    async def void(self, answer_id: int) -> bool:
        """Mark an answer that can never get a final grade (see `bot.services.grading`; a
        provisional grade it has stays, labelled); False if it was graded, forgotten or already
        void meanwhile."""
        async with self.db.write() as conn:
            done = await conn.execute(
                answers.update()
                .where(answers.c.id == answer_id, answers.c.status.in_(("pending", "provisional")))
                .values(status="void")
            )
        return bool(done.rowcount)

    async def use_regrade(self, answer_id: int, charge: Charge) -> Regrade:
        """Mark the answer's one re-grade used (back to pending) and spend its unit; `used` if
        already used, if an admin has overridden its score or if it is floored (nothing to
        grade); `Over` (nothing changed) when the user's budget is spent."""
        async with self.db.write() as conn:
            await lock_budgets(conn, [charge.user_id])
            mine = (
                answers.c.id == answer_id,
                sa.not_(answers.c.regrade_used),
                answers.c.override_by.is_(None),  # an admin's score is final
                answers.c.floor.is_(None),
            )
            if (await conn.execute(sa.select(answers.c.id).where(*mine))).first() is None:
                return "used"
            over = await spend(conn, charge, answer_id)
            if over is not None:
                return over
            await conn.execute(
                answers.update().where(*mine).values(regrade_used=True, status="pending")
            )
        return "regrading"

    async def override(
        self, answer: AnswerRow, daily: DailyRow | None, score: int, by: str, at: datetime
    ) -> Points | None:
        """An admin's score replaces the grader's; points follow; who and when are kept."""
        async with self.db.write() as conn:
            points, _ = await points_of(conn, answer, daily, score)
            await conn.execute(
                answers.update()
                .where(answers.c.id == answer.id)
                .values(
                    score=score,
                    points=points.total if points else None,
                    status="graded",
                    override_by=by,
                    override_at=at,
                )
            )
            await conn.execute(
                grades.update().where(grades.c.answer_id == answer.id).values(score=score)
            )
        return points


def _with_rubric(query: sa.Select[Any]) -> sa.Select[Any]:
    """An answers query that also reads each answer's stored rubric (as `rubric`)."""
    return query.add_columns(rubrics.c.body.label("rubric")).join(
        rubrics,
        sa.and_(
            rubrics.c.workspace_id == answers.c.workspace_id, rubrics.c.id == answers.c.rubric_id
        ),
        isouter=True,
    )


def _upsert_many(conn: AsyncConnection, table: sa.Table, keys: list[str]) -> Any:
    """An upsert of whole rows of `table`, run once for a batch (executemany)."""
    return upsert(conn, table, {c.name: sa.bindparam(c.name) for c in table.c}, keys)


def _grade_row(g: NewGrade) -> dict[str, Any]:
    detail = g.detail
    return {
        "answer_id": g.answer.id,
        "workspace_id": g.answer.workspace_id,
        "score": detail["score"],
        "grader": detail["grader"],
        "grader_version": detail["grader_version"],
        "model": detail["model"],
        "prompt_version": detail["prompt_version"],
        "tokens_in": detail["tokens_in"],
        "tokens_out": detail["tokens_out"],
        "flagged": detail["flagged"],
        "provisional": detail["provisional"],
        "detail": detail,
        "graded_at": g.graded_at,
        "feedback_at": g.graded_at if g.feedback else None,
    }


async def points_of(
    conn: AsyncConnection, answer: AnswerRow, daily: DailyRow | None, score: int
) -> tuple[Points | None, Streak | None]:
    """Points of a counted daily answer with this score, and the streak as of its day."""
    graded = NewGrade(answer, daily, {"score": score}, "graded", answer.answered_at)
    return (await _points(conn, [graded]))[0]


async def _points(
    conn: AsyncConnection, items: Sequence[NewGrade]
) -> list[tuple[Points | None, Streak | None]]:
    """Points and streak of each counted daily answer (None, None for others): the streak
    histories of a batch are read per channel and day, for all its users at once."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for g in items:
        if g.answer.kind == "daily" and g.daily is not None:
            key = (g.answer.workspace_id, g.answer.channel_id, g.daily.local_date)
            groups.setdefault(key, set()).add(g.answer.user_id)
    histories: dict[tuple[str, str, str, str], Streak] = {}
    for (workspace_id, channel_id, local_date), user_ids in groups.items():
        days = await streak_days(
            conn, workspace_id, channel_id, user_ids, until=date.fromisoformat(local_date)
        )
        for user_id, history in days.items():
            histories[(workspace_id, channel_id, local_date, user_id)] = fold_streak(history)
    out: list[tuple[Points | None, Streak | None]] = []
    for g in items:
        if g.answer.kind != "daily" or g.daily is None:
            out.append((None, None))
            continue
        streak = histories[
            (g.answer.workspace_id, g.answer.channel_id, g.daily.local_date, g.answer.user_id)
        ]
        posted = g.daily.posted_at or g.daily.scheduled_at
        points = points_for(g.detail["score"], g.answer.answered_at, posted, streak.current)
        out.append((points, streak))
    return out


async def _feedback_modes(
    conn: AsyncConnection, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    rows = await conn.execute(
        sa.select(channels.c.workspace_id, channels.c.id, channels.c.feedback).where(
            sa.tuple_(channels.c.workspace_id, channels.c.id).in_(list(keys))
        )
    )
    return {(r.workspace_id, r.id): r.feedback for r in rows}
