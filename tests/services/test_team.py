"""Team practice through the core with an injected clock: the fair boards over crafted
histories, reminders across a restart, skipped dates and holidays against streaks, and the
weekly digest against a hand-computed week."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.domain.periods import period
from bot.domain.types import Actor, ChannelRef
from bot.grading.offline import OfflineGrader
from bot.packs import Bank
from bot.services.config import CoreConfig
from bot.store.db import Database
from bot.store.tables import answers, dailies, grades, reminders, users
from testing.fakes import RecordingAdapter

WS = "T1"
CH = ChannelRef(WS, "C1")
ADMIN = Actor(WS, "boss", "Boss")
OFFLINE = OfflineGrader()


async def setup_channel(
    core: Core, cron: str = "0 9 * * MON-FRI", tz: str = "UTC", ref: ChannelRef = CH
) -> None:
    await core.tenants.ensure_workspace(ref.workspace_id, "test", timezone=tz)
    await core.tenants.ensure_channel(ref, name="drill", cron=cron, timezone=tz)


async def command(core: Core, actor: Actor, text: str, key: str, ref: ChannelRef = CH) -> str:
    replies = await core.commands.handle(event_key=key, actor=actor, channel=ref, text=text)
    return "\n".join(r.text for r in replies)


async def put_daily(
    core: Core,
    day: date,
    question_id: str = "q",
    kind: str = "scheduled",
    status: str = "closed",
    ref: ChannelRef = CH,
    slot: str = "09:00",
) -> int:
    at = datetime(day.year, day.month, day.day, int(slot[:2]), tzinfo=UTC)
    async with core.db.write() as conn:
        result = await conn.execute(
            dailies.insert().values(
                workspace_id=ref.workspace_id,
                channel_id=ref.channel_id,
                question_id=question_id,
                local_date=day.isoformat(),
                slot=slot,
                kind=kind,
                status=status,
                scheduled_at=at,
                posted_at=at,
                closes_at=at + timedelta(hours=24),
                closed_at=at + timedelta(hours=24) if status == "closed" else None,
                revealed_at=at + timedelta(hours=24) if status == "closed" else None,
                message_id=f"m-{ref.channel_id}-{day}-{kind}-{slot}",
            )
        )
        return int(result.inserted_primary_key[0])


async def put_answer(
    core: Core,
    user: str,
    daily_id: int,
    at: datetime,
    score: int,
    points: int | None = None,
    *,
    question_id: str = "q",
    grader: tuple[str, str] = (OFFLINE.name, OFFLINE.version),
    provisional: bool = False,
    ref: ChannelRef = CH,
) -> None:
    async with core.db.write() as conn:
        result = await conn.execute(
            answers.insert().values(
                workspace_id=ref.workspace_id,
                channel_id=ref.channel_id,
                daily_id=daily_id,
                user_id=user,
                question_id=question_id,
                kind="daily",
                source="thread",
                text="an answer",
                answered_at=at,
                status="graded",
                score=score,
                points=score if points is None else points,
            )
        )
        await conn.execute(
            grades.insert().values(
                answer_id=result.inserted_primary_key[0],
                workspace_id=ref.workspace_id,
                score=score,
                grader=grader[0],
                grader_version=grader[1],
                provisional=provisional,
                detail={"score": score},
                graded_at=at,
            )
        )


async def name_users(core: Core, *names: tuple[str, str, str], workspace: str = WS) -> None:
    async with core.db.write() as conn:
        for user_id, name, privacy in names:
            await conn.execute(
                core.db.insert_ignore(users).values(
                    workspace_id=workspace, id=user_id, name=name, privacy=privacy
                )
            )


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# -- fair boards ----------------------------------------------------------------------------


async def test_improved_board_minimums_grader_version_and_ties(
    core: Core, clock: ManualClock
) -> None:
    await setup_channel(core)
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # Wednesday: 3 days of the week so far
    before = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]  # the 3 days before
    now = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
    ids = {d: await put_daily(core, d, status="closed") for d in before + now}
    history: dict[str, tuple[list[int], list[int], int]] = {
        # user: (scores before, scores now, minute of the last answer this week)
        "alice": ([4, 4, 4], [7, 7, 7], 30),  # +3.0, last answer later than bob's
        "bob": ([5, 5, 5], [8, 8, 8], 10),  # +3.0, earlier: ranks first
        "carol": ([2, 2], [9, 9, 9], 0),  # only 2 before: not on the board
        "dave": ([5, 5, 5], [6, 6, 6], 0),  # +1.0
    }
    for user, (old, new, minute) in history.items():
        for day, score in zip(before, old, strict=False):
            await put_answer(core, user, ids[day], at(day), score)
        for day, score in zip(now, new, strict=True):
            await put_answer(core, user, ids[day], at(day, 10, minute), score)
    # erin's grades this week are another grader's, frank's are provisional: neither counts.
    for day in before:
        await put_answer(core, "erin", ids[day], at(day), 1)
        await put_answer(core, "frank", ids[day], at(day), 1)
    for day in now:
        await put_answer(core, "erin", ids[day], at(day), 10, grader=("llm", "9"))
        await put_answer(core, "frank", ids[day], at(day), 10, provisional=True)

    board = await core.team.board("improved", "week", WS, CH.channel_id, ZoneInfo("UTC"))
    assert [(e.user_id, round(e.value, 2)) for e in board] == [
        ("bob", 3.0),
        ("alice", 3.0),
        ("dave", 1.0),
    ]
    text = await command(core, Actor(WS, "dave", "Dave"), "leaderboard improved", "k1")
    assert "1. bob: +3.0 (5.0 -> 8.0 mean score)" in text
    assert "You: #3 with +1.0" in text
    assert "not `all`" in await command(core, ADMIN, "leaderboard improved all", "k2")


async def test_consistency_board_counts_scheduled_days_since_the_first_answer(
    core: Core, clock: ManualClock
) -> None:
    await setup_channel(core)
    week = [date(2026, 11, 23) + timedelta(days=i) for i in range(5)]  # Mon-Fri
    ids = {d: await put_daily(core, d) for d in week}
    extra = await put_daily(core, date(2026, 11, 28), kind="extra")  # Saturday, extra only
    answered = {
        "alice": (week, 5),  # 5 of 5
        "bob": (week[:4], 1),  # 4 of 5
        "carol": (week[2:], 0),  # first answer Wednesday: 3 of 3, ties alice on 100 %
        "dave": (week[3:], 0),  # 2 days since the first: under the minimum
    }
    for user, (days, minute) in answered.items():
        for day in days:
            await put_answer(core, user, ids[day], at(day, 10, minute), 7)
    await put_answer(core, "bob", extra, at(date(2026, 11, 28)), 7)  # extra: not a scheduled day
    # erin first answered the Friday before: every day of this week counts for her.
    earlier = await put_daily(core, date(2026, 11, 20))
    await put_answer(core, "erin", earlier, at(date(2026, 11, 20)), 7)
    for day in week[:3]:
        await put_answer(core, "erin", ids[day], at(day, 11), 7)
    clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # Sunday of that week

    board = await core.team.board("consistency", "week", WS, CH.channel_id, ZoneInfo("UTC"))
    assert [(e.user_id, e.shown) for e in board] == [
        ("carol", "100% (3 of 3 days)"),  # last answer Friday 10:00, before alice's 10:05
        ("alice", "100% (5 of 5 days)"),
        ("bob", "80% (4 of 5 days)"),
        ("erin", "60% (3 of 5 days)"),
    ]
    # A skipped day leaves the count: skipping Friday is for the future, so store it directly.
    await core.store.skips.add(WS, CH.channel_id, [week[4]], "boss", clock.now())
    board = await core.team.board("consistency", "week", WS, CH.channel_id, ZoneInfo("UTC"))
    assert ("bob", "100% (4 of 4 days)") in [(e.user_id, e.shown) for e in board]
    text = await command(core, Actor(WS, "dave", "Dave"), "leaderboard consistency all", "k1")
    assert "You are not on this board yet." in text


def old_consistency(
    dailies_rows: list[Any],
    answer_rows: list[Any],
    skipped: dict[tuple[str, str], set[date]],
    channel_id: str | None,
    start: datetime | None,
    today: str,
) -> list[tuple[str, str, datetime]]:
    """The consistency board as it was computed before it moved into SQL, from the raw rows:
    every (user, channel, local date) answered, folded in Python. The reference the store's
    per-user counts must reproduce."""
    first = start.date().isoformat() if start is not None else ""
    in_scope = {
        d.id: d
        for d in dailies_rows
        if (channel_id is None or d.channel_id == channel_id) and first <= d.local_date <= today
    }
    scheduled: dict[str, dict[str, bool]] = {}
    for d in in_scope.values():
        if d.kind == "scheduled" and d.status in ("posted", "closed"):
            dates = scheduled.setdefault(d.channel_id, {})
            dates[d.local_date] = dates.get(d.local_date, False) or d.status == "posted"
    for (_, chan), days in skipped.items():
        for day in days:
            scheduled.get(chan, {}).pop(day.isoformat(), None)
    counted = [a for a in answer_rows if a.kind == "daily" and a.floor is None]
    answered: dict[tuple[str, str, str], datetime] = {}
    for a in counted:
        if a.daily_id in in_scope:
            key = (a.user_id, a.channel_id, in_scope[a.daily_id].local_date)
            answered[key] = max(answered.get(key, a.answered_at), a.answered_at)
    pairs = {(a.user_id, a.channel_id) for a in counted}
    earlier = {
        pair
        for pair in pairs
        if start is not None
        and any((a.user_id, a.channel_id) == pair and a.answered_at < start for a in counted)
        and any((a.user_id, a.channel_id) == pair and a.answered_at >= start for a in counted)
    }
    firsts: dict[tuple[str, str], str] = {}
    for user, chan, day in answered:
        key = (user, chan)
        firsts[key] = "" if key in earlier else min(firsts.get(key, day), day)
    mine: dict[str, set[tuple[str, str]]] = {}
    last: dict[str, datetime] = {}
    for (user, chan, day), when in answered.items():
        if day in scheduled.get(chan, {}):
            mine.setdefault(user, set()).add((chan, day))
        last[user] = max(last.get(user, when), when)
    board = []
    for user, days in mine.items():
        total = sum(
            1
            for chan, dates in scheduled.items()
            if (user, chan) in firsts
            for day, is_open in dates.items()
            if not is_open and day >= firsts[(user, chan)]
        )
        total += sum(1 for chan, day in days if scheduled[chan][day])
        if total >= 3:
            share = len(days) / total
            board.append((share, last[user], user, f"{share:.0%} ({len(days)} of {total} days)"))
    return [
        (user, shown, when)
        for _, when, user, shown in sorted(board, key=lambda b: (-b[0], b[1], b[2]))
    ]


async def test_consistency_counted_in_the_store_matches_the_day_by_day_definition(
    core: Core, clock: ManualClock
) -> None:
    """A crafted fortnight in two channels: a skipped date, an extra on a scheduled date and
    one on a free date, two scheduled slots on one date, a date still open because one slot
    is, a late answer, and users whose first answer in a channel predates the week. Every
    period and scope gives the board of the day-by-day definition."""
    c2 = ChannelRef(WS, "C2")
    await setup_channel(core, cron="0 9 * * *")
    await setup_channel(core, cron="0 9 * * *", ref=c2)
    d = {n: date(2026, 11, n) for n in range(16, 28)}  # Mon 23 .. Fri 27 is the week
    one: dict[int, int] = {n: await put_daily(core, d[n]) for n in (16, 20, 23, 24, 25, 26)}
    one[27] = await put_daily(core, d[27], status="posted")  # today's, still open
    extra_sun = await put_daily(core, d[22], kind="extra", slot="14:00")
    extra_wed = await put_daily(core, d[25], kind="extra", slot="14:00")
    two = {n: await put_daily(core, d[n], ref=c2) for n in (19, 23, 24, 25, 26)}
    wed_pm = await put_daily(core, d[25], ref=c2, slot="17:00")
    thu_pm = await put_daily(core, d[26], ref=c2, slot="17:00", status="posted")
    plan: dict[str, list[tuple[int, ChannelRef, int]]] = {
        # user: (daily, channel, minute of the answer)
        "alice": [(one[n], CH, 5) for n in (23, 24, 25, 26, 27)],
        "bob": [(extra_sun, CH, 0), (extra_wed, CH, 0), (one[26], CH, 0), (two[26], c2, 0)],
        "carol": [
            *[(one[n], CH, 1) for n in (25, 26)],
            *[(daily, c2, 1) for daily in (two[23], wed_pm, two[26], thu_pm)],
        ],
        "dave": [(one[26], CH, 2), (one[27], CH, 2)],
        "erin": [
            *[(one[n], CH, 3) for n in (16, 23, 26)],
            *[(two[n], c2, 3) for n in (19, 24, 25)],
        ],
    }
    async with core.db.read() as conn:
        dated = {r.id: r for r in await conn.execute(sa.select(dailies))}
    for user, answered in plan.items():
        for daily, ref, minute in answered:
            day = date.fromisoformat(dated[daily].local_date)
            hour = 18 if daily in (wed_pm, thu_pm) else 10
            await put_answer(core, user, daily, at(day, hour, minute), 7, ref=ref)
    await put_answer(core, "frank", one[23], at(d[23]), 7)
    await put_answer(core, "frank", one[24], at(d[24]), 7)
    await put_answer(core, "frank", one[25], at(d[25]), 7)
    async with core.db.write() as conn:  # frank's are late: they count nowhere
        await conn.execute(answers.update().where(answers.c.user_id == "frank").values(kind="late"))
    await core.store.skips.add(WS, CH.channel_id, [d[24]], "boss", clock.now())
    clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))

    async with core.db.read() as conn:
        daily_rows = list(await conn.execute(sa.select(dailies)))
        answer_rows = list(await conn.execute(sa.select(answers)))
    skipped = await core.store.skips.between([(WS, "C1"), (WS, "C2")], d[16], d[27])
    utc = ZoneInfo("UTC")
    for scope in ("week", "month", "all"):
        start, _ = period(scope, clock.now(), utc)
        for channel in (CH.channel_id, None):
            board = await core.team.board("consistency", scope, WS, channel, utc)
            expected = old_consistency(
                daily_rows, answer_rows, skipped, channel, start, "2026-11-27"
            )
            assert [(e.user_id, e.shown, e.last) for e in board] == expected, (scope, channel)
    # The same boards by hand, for the week: the skipped Tuesday is no day; Wednesday counts
    # once whichever of its dailies was answered; Friday (open) only for who answered it;
    # bob and erin answered before the week, so all of its closed days count for them.
    week = await core.team.board("consistency", "week", WS, CH.channel_id, utc)
    assert [(e.user_id, e.shown) for e in week] == [
        ("alice", "100% (4 of 4 days)"),
        ("bob", "67% (2 of 3 days)"),  # Wednesday's extra and Thursday; last Thu 10:00
        ("erin", "67% (2 of 3 days)"),  # Monday and Thursday; last Thu 10:03
    ]
    workspace = await core.team.board("consistency", "week", WS, None, utc)
    assert [(e.user_id, e.shown) for e in workspace] == [
        ("alice", "100% (4 of 4 days)"),
        ("carol", "83% (5 of 6 days)"),  # C1: Wed, Thu of 2; C2: Mon, Wed, Thu (open) of 4
        ("bob", "75% (3 of 4 days)"),  # C2: first Thursday, still open: 1 of 1
        ("erin", "67% (4 of 6 days)"),  # C2 from before the week: Tue, Wed of Mon-Wed
    ]


async def test_floored_or_late_answers_never_count_on_boards(
    core: Core, clock: ManualClock
) -> None:
    await setup_channel(core)
    daily = await put_daily(core, date(2026, 11, 23))
    await put_answer(core, "alice", daily, at(date(2026, 11, 23)), 8)
    async with core.db.write() as conn:
        await conn.execute(answers.update().values(kind="late"))
    clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    assert await core.team.board("points", "week", WS, None, ZoneInfo("UTC")) == []
    assert await core.team.board("consistency", "all", WS, None, ZoneInfo("UTC")) == []


async def test_personal_bests_on_stats(core: Core, clock: ManualClock) -> None:
    await setup_channel(core)
    week = [date(2026, 11, 16) + timedelta(days=i) for i in range(5)]
    ids = {d: await put_daily(core, d) for d in week}
    monday = await put_daily(core, date(2026, 11, 23))
    for day, points in zip(week[:3], (10, 12, 4), strict=True):  # Thursday missed: streak ends
        await put_answer(core, "alice", ids[day], at(day), 5, points)
    await put_answer(core, "alice", monday, at(date(2026, 11, 23)), 5, 7)
    clock.set(datetime(2026, 11, 23, 12, tzinfo=UTC))
    stats = await command(core, Actor(WS, "alice", "Alice"), "stats", "st1")
    assert "Personal bests: streak 3, best week 26 points." in stats
    bests = await core.dashboard.bests(WS, "alice")
    assert (bests.streak, bests.week_points) == (3, 26)


async def test_remind_off_in_a_discord_dm_covers_every_shared_server(core: Core) -> None:
    for guild in ("G1", "G2", "G3"):
        await core.tenants.ensure_workspace(guild, "discord")
    await core.tenants.ensure_workspace("discord-dm-bob", "discord")
    await name_users(core, ("bob", "Bob", "public"), workspace="G1")
    await name_users(core, ("bob", "Bob", "public"), workspace="G2")
    dm = ChannelRef("discord-dm-bob", "D1")
    reply = await command(core, Actor("discord-dm-bob", "bob", "Bob"), "remind off", "r1", dm)
    assert "off in 2 server(s)" in reply  # G1 and G2: bob is not known in G3
    for guild, expected in (("G1", False), ("G2", False), ("G3", None)):
        data = await core.store.team.export(guild, "bob")
        prefs = [p["enabled"] for p in data["reminder_preferences"]]
        assert prefs == ([] if expected is None else [expected])


# -- reminders ------------------------------------------------------------------------------


async def answer_daily(core: Core, actor: Actor, thread: str, key: str) -> None:
    await core.inbound.on_thread_message(
        event_key=key,
        actor=actor,
        channel=CH,
        thread_id=thread,
        text="A considered answer about the trade-offs involved in this question here.",
        message_id=key,
    )
    await core.grading.drain()


async def test_reminders_go_once_to_recent_unanswered_users_across_a_restart(
    core: Core,
    clock: ManualClock,
    adapter: RecordingAdapter,
    db: Database,
    bank: Bank,
) -> None:
    await setup_channel(core)
    assert "remind: 120 min" in await command(core, ADMIN, "config remind=2h", "c1")
    alice, bob, dave, erin = (Actor(WS, u, u.title()) for u in ("alice", "bob", "dave", "erin"))
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    monday = adapter.sent_keys[adapter.posts[-1].key]
    for actor in (alice, bob, dave, erin):
        await answer_daily(core, actor, monday, f"mon-{actor.user_id}")
    # carol answered 20 days ago only: not recent enough to be nudged.
    old = await put_daily(core, date(2026, 11, 3))
    await put_answer(core, "carol", old, at(date(2026, 11, 3)), 6)
    assert "Reminders are off" in await command(core, dave, "remind off", "r1")

    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    await core.tick.run()  # Tuesday's daily, open until Wednesday 09:00
    tuesday = adapter.sent_keys[adapter.posts[-1].key]
    await answer_daily(core, alice, tuesday, "tue-alice")
    clock.set(datetime(2026, 11, 25, 6, 59, tzinfo=UTC))
    await core.tick.run()
    assert adapter.dms == []  # not yet: 2 h before close is 07:00

    # 07:00: the round is reserved (bob and erin), then the process dies after recording the
    # intent to DM erin and before sending it.
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    (due,) = await core.store.team.due_rounds(["test"], clock.now())
    assert (
        await core.store.team.reserve_round(
            due.daily, clock.now() - timedelta(days=14), clock.now()
        )
        == 2
    )
    owed = {r.user_id: r for r in await core.store.team.owed_reminders(clock.now())}
    assert sorted(owed) == ["bob", "erin"]
    assert await core.store.team.take_reminder(owed["erin"].id)

    restarted = build_core(
        db=db, bank=core.bank, grader=OfflineGrader(), clock=clock, config=CoreConfig()
    )
    restarted.platforms.attach(adapter)
    await restarted.tick.run()
    await restarted.tick.run()
    clock.advance(timedelta(minutes=30))
    await restarted.tick.run()
    assert [user for user, _ in adapter.dms] == ["bob"]  # erin's DM may be lost, never doubled
    assert "closes in 2 h 0 min" in adapter.dms[0][1]
    assert "#drill" in adapter.dms[0][1] and "@" not in adapter.dms[0][1]
    assert all("Reminder" not in text for _, text in adapter.private + adapter.thread)
    async with db.read() as conn:
        statuses = dict(
            (r.user_id, r.status)
            for r in await conn.execute(sa.select(reminders.c.user_id, reminders.c.status))
        )
    assert statuses == {"bob": "sent", "erin": "sending"}


async def test_a_failed_reminder_is_logged_not_retried_and_late_only_while_open(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    await command(core, ADMIN, "config remind=1h", "c1")
    bob, erin = Actor(WS, "bob", "Bob"), Actor(WS, "erin", "Erin")
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    monday = adapter.sent_keys[adapter.posts[-1].key]
    await answer_daily(core, bob, monday, "m-bob")
    await answer_daily(core, erin, monday, "m-erin")
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    await core.tick.run()
    adapter.dm_refused.add("erin")
    clock.set(datetime(2026, 11, 25, 8, 30, tzinfo=UTC))  # down at 08:00, back 08:30: late
    await core.tick.run()
    await core.tick.run()
    assert adapter.dms == [("bob", adapter.dms[0][1])]
    # Wednesday's daily: the bot is down until after it closes, so no reminder at all.
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    await core.tick.run()
    clock.set(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    await core.tick.run()
    assert len(adapter.dms) == 1


async def test_remind_setting_is_validated_against_the_window(core: Core) -> None:
    await setup_channel(core)
    assert "nothing saved" in await command(core, ADMIN, "config window=1h remind=2h", "c1")
    assert "remind: off" in await command(core, ADMIN, "config", "c2")
    assert "Usage: /drill remind" in await command(core, ADMIN, "remind sometimes", "c3")


async def test_export_and_forget_me_cover_reminder_preferences(
    core: Core, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    bob = Actor(WS, "bob", "Bob")
    await command(core, bob, "remind off", "r1")
    await command(core, bob, "export", "e1")
    data = json.loads(adapter.files[-1][2])
    assert data["reminder_preferences"][0]["enabled"] is False
    await command(core, bob, "forget-me confirm", "f1")
    await command(core, bob, "export", "e2")
    assert json.loads(adapter.files[-1][2])["reminder_preferences"] == []


# -- skipped dates and holidays ---------------------------------------------------------------


async def run_days(
    core: Core,
    clock: ManualClock,
    adapter: RecordingAdapter,
    days: list[date],
    tz: str,
    answer: set[date],
    user: Actor,
) -> list[date]:
    """Tick each day at 09:00 local; answer the day's daily when in `answer`; the posted dates."""
    posted: list[date] = []
    for day in days:
        local = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo(tz))
        clock.set(local)
        before = len(adapter.posts)
        await core.tick.run()
        if len(adapter.posts) > before:
            posted.append(day)
            if day in answer:
                thread = adapter.sent_keys[adapter.posts[-1].key]
                await answer_daily(core, user, thread, f"{user.user_id}-{day}")
    return posted


async def test_us_holiday_neither_breaks_nor_extends_a_streak(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    tz = "America/New_York"
    clock.set(datetime(2026, 12, 20, 12, tzinfo=UTC))
    await setup_channel(core, tz=tz)
    reply = await command(core, ADMIN, "config holidays=us", "c1")
    assert "holidays: US" in reply and "2026-12-25 (holiday)" in reply
    alice = Actor(WS, "alice", "Alice")
    days = [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 28)]
    posted = await run_days(core, clock, adapter, days, tz, set(days), alice)
    assert posted == [date(2026, 12, 24), date(2026, 12, 28)]  # nothing on Christmas
    streak = await core.dashboard.streak(CH, "alice")
    assert (streak.current, streak.best) == (2, 2)


async def test_de_by_epiphany_is_skipped(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    tz = "Europe/Berlin"
    clock.set(datetime(2026, 1, 1, 12, tzinfo=UTC))
    await setup_channel(core, tz=tz)
    await command(core, ADMIN, "config holidays=DE-BY", "c1")
    alice = Actor(WS, "alice", "Alice")
    days = [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]
    posted = await run_days(core, clock, adapter, days, tz, set(days), alice)
    assert posted == [date(2026, 1, 5), date(2026, 1, 7)]
    assert (await core.dashboard.streak(CH, "alice")).current == 2
    # With holidays cleared, a missed Tuesday would have broken it: the rule is the skip.
    assert "holidays: none" in await command(core, ADMIN, "config holidays=none", "c2")


async def test_a_skip_inside_a_dst_week(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    tz = "America/New_York"  # DST ends Sunday 2026-11-01
    clock.set(datetime(2026, 10, 29, 12, tzinfo=UTC))
    await setup_channel(core, cron="0 9 * * *", tz=tz)
    reply = await command(core, ADMIN, "skip 2026-11-01", "s1")
    assert "Skipped here: 2026-11-01" in reply
    alice = Actor(WS, "alice", "Alice")
    days = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
    posted = await run_days(core, clock, adapter, days, tz, set(days), alice)
    assert posted == [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 2)]
    assert adapter.posts[-1].closes_at > datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert (await core.dashboard.streak(CH, "alice")).current == 3


async def test_skipping_today_keeps_the_posted_daily_open_as_an_extra(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    await setup_channel(core)
    alice = Actor(WS, "alice", "Alice")
    await run_days(core, clock, adapter, [date(2026, 11, 23)], "UTC", {date(2026, 11, 23)}, alice)
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    await core.tick.run()  # Tuesday posted, then skipped; alice does not answer it
    assert "counts like an extra" in await command(core, ADMIN, "skip 2026-11-24", "s1")
    await run_days(core, clock, adapter, [date(2026, 11, 25)], "UTC", {date(2026, 11, 25)}, alice)
    clock.set(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    await core.tick.run()
    assert (await core.dashboard.streak(CH, "alice")).current == 2  # Tuesday broke nothing


async def test_skip_command_validates_and_lists(core: Core, clock: ManualClock) -> None:
    await setup_channel(core)
    clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    assert "in the past" in await command(core, ADMIN, "skip 2026-11-23..2026-11-25", "s1")
    assert "more than 366 days ahead" in await command(core, ADMIN, "skip 2027-11-26", "s2")
    assert "No skipped dates ahead" in await command(core, ADMIN, "skip list", "s3")
    assert "3 days" in await command(core, ADMIN, "skip 2026-12-24..2026-12-26", "s4")
    for i, day in enumerate(("2027-01-01", "2027-01-02", "2027-01-03")):
        await command(core, ADMIN, f"skip {day}", f"s5{i}")
    listed = await command(core, ADMIN, "skip list", "s6")
    assert listed.count("20") == 6
    config = await command(core, ADMIN, "config", "s7")
    assert (
        "next skipped dates: 2026-12-24, 2026-12-25, 2026-12-26, 2027-01-01, 2027-01-02" in config
    )
    assert "no longer skipped" in await command(core, ADMIN, "skip clear 2026-12-25", "s8")
    assert "was not skipped" in await command(core, ADMIN, "skip clear 2026-12-25", "s9")
    assert "for workspace admins" in await command(core, Actor(WS, "bob"), "skip list", "s10")


# -- the weekly digest ----------------------------------------------------------------------


def three_topics(bank: Bank) -> list[tuple[str, str]]:
    """(question id, topic) of three questions of distinct topics, topics in order."""
    seen: dict[str, str] = {}
    for q in bank:
        seen.setdefault(q.topic, q.id)
    topics = sorted(seen)[:3]
    return [(seen[t], t) for t in topics]


async def craft_week(core: Core) -> dict[str, Any]:
    """Week 2026-W47 (Mon 16 - Fri 20 November) of channel C1, and the week before."""
    (qa, ta), (qb, tb), (qc, tc) = three_topics(core.bank)
    mon = date(2026, 11, 16)
    week = [mon + timedelta(days=i) for i in range(5)]
    questions = [qa, qb, qc, qa, qb]
    ids = [await put_daily(core, d, q) for d, q in zip(week, questions, strict=True)]
    await name_users(core, ("alice", "Alice", "public"), ("bob", "Bob", "public"))
    await name_users(core, ("carol", "Carol", "anonymous"))
    # (user, day index, score, points)
    rows = [
        ("alice", 0, 8, 10), ("bob", 0, 4, 6), ("carol", 0, 3, 5),
        ("alice", 1, 6, 8), ("bob", 1, 6, 8),
        ("alice", 2, 9, 11), ("bob", 2, 7, 9), ("carol", 2, 8, 10),
    ]  # fmt: skip
    for user, i, score, points in rows:
        await put_answer(core, user, ids[i], at(week[i]), score, points, question_id=questions[i])
    before = [mon - timedelta(days=7 - i) for i in range(3)]
    for day in before:
        old = await put_daily(core, day, qa)
        await put_answer(core, "bob", old, at(day), 2, question_id=qa)
        await put_answer(core, "alice", old, at(day), 8, question_id=qa)
    return {"qa": qa, "ta": ta, "tb": tb, "tc": tc}


async def test_weekly_digest_once_per_week_with_hand_computed_figures(
    db: Database, bank: Bank, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    core = build_core(db=db, bank=bank, grader=OfflineGrader(), clock=clock)
    core.platforms.attach(adapter)
    await setup_channel(core)
    # The crafted week is all there is: the channel's own Monday-Friday posts are not ticked.
    facts = await craft_week(core)
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    (digest,) = adapter.digests
    assert adapter.order == ["digest", "daily"]  # just before the week's first daily
    assert digest.week == "2026-W47"
    assert dict(digest.sections) == {
        "Participation": "3 people answered 8 time(s); on average each answered 53% of the "
        "5 scheduled days.",
        "Mean score per topic": f"{facts['ta']} 5.0/10 (3), {facts['tb']} 6.0/10 (2), "
        f"{facts['tc']} 8.0/10 (3). Weakest: {facts['ta']}.",
        "Hardest question": f"{facts['qa']}: mean 5.0/10 over 3 answers",
        "Top 3 on points": "1. Alice (29 pts), 2. Bob (23 pts), 3. anonymous (15 pts)",
        "Most improved": "Bob +3.7 (2.0 -> 5.7 mean score)",
    }
    assert "@" not in digest.text() and "<" not in digest.text()

    # A restart, more ticks and Tuesday's daily: still one digest for the week.
    again = build_core(db=db, bank=bank, grader=OfflineGrader(), clock=clock)
    again.platforms.attach(adapter)
    await again.tick.run()
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    await again.tick.run()
    assert len(adapter.digests) == 1

    # The next week had no answers: a one-line digest, not silence.
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    await again.tick.run()
    assert len(adapter.digests) == 2
    assert adapter.digests[1].sections == []
    assert "no answers last week" in adapter.digests[1].text()


async def test_digest_off_and_a_new_channel_post_no_digest(
    core: Core, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    clock.set(datetime(2026, 11, 18, 8, 0, tzinfo=UTC))
    await setup_channel(core)
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=UTC))
    await core.tick.run()  # created this week: nothing to report
    assert adapter.digests == []
    assert "digest: off" in await command(core, ADMIN, "config digest=off", "c1")
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    await core.tick.run()
    assert adapter.digests == [] and len(adapter.posts) == 2
