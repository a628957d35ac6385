"""The App Home tab, and who a user is (users.info, cached and shared)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory


async def test_opening_the_home_tab_publishes_streaks_and_points(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    good = h.core.bank.get(daily.question_id).reference_answer
    await h.event(
        p.thread_reply("T1", "C1", "U1", daily.message_id, h.next_ts(), good, h.next_id())
    )
    await eventually(lambda: h.fake.called("reactions.add"))
    await h.core.grading.drain()
    opened = p.simple_event("event_app_home_opened", "T1", h.next_id(), user="U1")
    assert (await h.event(opened)).status == 200
    [published] = await eventually(lambda: h.fake.called("views.publish"))
    assert published["user_id"] == "U1" and published["view"]["type"] == "home"
    text = str(published["view"]["blocks"])
    assert "#drills-c1" in text and "streak 1" in text and "all time (#1 in the workspace)" in text
    assert "Reviews due:* none right now" in text  # a good answer is not due again today
    assert "Personal bests: streak 1, best week " in text


async def test_home_tab_counts_reviews_due(slack: Factory) -> None:
    h = await slack()
    daily = await h.daily("T1", "C1")
    await h.event(
        p.thread_reply(
            "T1",
            "C1",
            "U1",
            daily.message_id,
            h.next_ts(),
            "It is when a model does badly",
            h.next_id(),
        )
    )
    await eventually(lambda: h.fake.called("reactions.add"))
    await h.core.grading.drain()
    h.core.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]  # back next day
    opened = p.simple_event("event_app_home_opened", "T1", h.next_id(), user="U1")
    await h.event(opened)
    [published] = await eventually(lambda: h.fake.called("views.publish"))
    text = str(published["view"]["blocks"])
    assert "Reviews due:* 1" in text, text


async def test_concurrent_lookups_of_a_user_make_one_users_info_call(slack: Factory) -> None:
    h = await slack()
    users = h.service.events.users
    actors = await asyncio.gather(*(users.actor("T1", "UADMIN") for _ in range(5)))
    assert {a.is_admin for a in actors} == {True} and actors[0].name == "Ada"
    assert len(h.fake.called("users.info")) == 1
    unknown = await users.actor("T1", "UNOBODY")
    assert not unknown.is_admin
