"""Socket Mode against a fake Socket Mode server: envelopes in, acks out, same behaviour."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.tables import answers
from testing.polling import eventually
from testing.slack import payloads as p
from tests.platforms.slack.conftest import Factory, Harness

SOCKET = {
    "slack_mode": "socket",
    "slack_app_token": "xapp-1-A111-test",
    "slack_signing_secret": None,
}


async def _socket(slack: Factory) -> Harness:
    h = await slack(**SOCKET)
    assert h.service.port is None
    await eventually(lambda: h.fake.socket_clients == 1)
    return h


async def test_a_thread_answer_arrives_over_the_socket_and_retries_change_nothing(
    slack: Factory,
) -> None:
    h = await _socket(slack)
    daily = await h.daily("T1", "C1")
    body = p.thread_reply(
        "T1", "C1", "U1", daily.message_id, h.next_ts(), "over the socket", h.next_id()
    )
    first = await h.fake.push(body)
    retry = await h.fake.push(body, retry_attempt=1)
    await eventually(lambda: first in h.fake.acks and retry in h.fake.acks)
    await eventually(lambda: h.fake.ephemerals("T1", "U1"))
    await h.core.grading.drain()
    async with h.core.db.read() as conn:
        rows = list(await conn.execute(sa.select(answers.c.text)))
    assert [r.text for r in rows] == ["over the socket"]
    assert len(h.fake.ephemerals("T1", "U1")) == 1


async def test_a_slash_command_over_the_socket_is_acked_then_answered(slack: Factory) -> None:
    h = await _socket(slack)
    fields = p.command("T1", "C1", "U1", "help", h.fake.response_url("sock"), "trig-sock")
    envelope = await h.fake.push(fields, kind="slash_commands")
    ack = await eventually(lambda: h.fake.acks.get(envelope))
    assert ack["envelope_id"] == envelope and not ack.get("payload")
    [response] = await eventually(lambda: h.fake.responses)
    assert response["key"] == "sock" and "/drill" in response["text"]


async def test_stopping_closes_the_socket(slack: Factory) -> None:
    h = await _socket(slack)
    await h.service.stop()
    await eventually(lambda: h.fake.socket_clients == 0)
