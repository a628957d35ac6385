"""Issue 12, finding 2 (research matrix B10): no secret reaches a log, whoever logs it.

`drillbot run -v` set the root logger to DEBUG, so slack_sdk logged the `oauth.v2.access`
response with the bot token. Verbose now applies to drillbot's loggers only, and a filter on
the root handlers masks token shapes and secret values in every record.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from slack_sdk.web.async_client import AsyncWebClient

from bot.redaction import MASK, install, redact
from testing.slack.fake_slack import FakeSlack, Team

pytestmark = pytest.mark.audit  # matrix §5.3 B10

SLACK_BOT = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
SLACK_USER = "xoxp-23984754863-2348975623103-4f9s8a7d6f5g4h3j2k1l0"
SLACK_APP = "xapp-1-A0123456789-4627357645123-0ad1b2c3d4e5f60718293a4b5c6d7e8f9"
SLACK_REFRESH = "xoxe-1-My0xLTM4NzA2NjQ2NDk0MjEtNTkxMjM0NTY3OA"
OPENAI = "sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678Stu901"
OPENAI_OLD = "sk-Abc123Def456Ghi789Jkl012Mno345Pqr678Stu9"
DISCORD = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjKl.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab"
FERNET_KEY = Fernet.generate_key().decode()
CLIENT_SECRET = "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
TOKENS = [SLACK_BOT, SLACK_USER, SLACK_APP, SLACK_REFRESH, OPENAI, OPENAI_OLD, DISCORD, FERNET_KEY]
LIBRARIES = ("slack_sdk", "slack_bolt", "aiohttp", "bot", "asyncio")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A root handler as start-up leaves one, every library at DEBUG (the worst case), and
    the redacting filter installed as `configure_logging` installs it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in LIBRARIES}
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG)
    redacting = install([CLIENT_SECRET])
    yield stream
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    root.removeHandler(handler)
    for other in root.handlers:
        other.removeFilter(redacting)


def _leaks(text: str) -> list[str]:
    found = [t for t in [*TOKENS, CLIENT_SECRET] if t in text]
    # The fake's own token shape (xoxb-<team>), whatever team the OAuth exchange gave.
    found += re.findall(r"xox[bp]-(?!\[redacted\])[\w-]+", text)
    return found


@pytest.mark.parametrize("token", TOKENS)
def test_finding2_every_token_shape_is_masked(token: str) -> None:
    masked = redact(f"before {token} after, 'token': '{token}'")
    assert token not in masked and MASK in masked and masked.startswith("before ")


def test_finding2_ordinary_text_is_left_alone() -> None:
    text = "slack: HTTP mode on 127.0.0.1:3000/slack/events; bot.platforms.slack.service task-42"
    assert redact(text) == text


async def test_finding2_B10_library_and_own_debug_logs_and_exceptions_hold_no_secret(
    captured: io.StringIO,
) -> None:
    fake = await FakeSlack(channel_interval=0).start()
    fake.teams[SLACK_BOT] = Team("T7", "team T7", SLACK_BOT, "UB7", "BB7")

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError(f"refused {SLACK_USER} and {OPENAI} for {DISCORD}")

    crashing = web.Application()
    crashing.router.add_get("/crash", crash)
    runner = web.AppRunner(crashing)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(base_url=fake.api_url, session=session, token=SLACK_BOT)
            # slack_sdk logs the request (client secret) and the response (the bot token).
            await client.oauth_v2_access(client_id="1.2", client_secret=CLIENT_SECRET, code="c")
            await client.auth_test()
            await client.chat_postMessage(channel="C1", text=f"hello {SLACK_APP}")
            # aiohttp's server logs the handler's exception with its traceback.
            async with session.get(f"http://127.0.0.1:{port}/crash") as response:
                assert response.status == 500
        ours = logging.getLogger("bot.platforms.slack.events")
        ours.debug("token %s, key %s, refresh %s", SLACK_BOT, FERNET_KEY, SLACK_REFRESH)
        ours.info("settings: %r", {"openai": OPENAI_OLD, "discord": DISCORD})
        try:
            raise ValueError(f"cannot decrypt with {FERNET_KEY} for {SLACK_BOT}")
        except ValueError:
            ours.exception("storing workspace %s failed", "T7")
        logging.getLogger("asyncio").error("bad %s", SLACK_USER, stack_info=True)
    finally:
        await runner.cleanup()
        await fake.stop()
    logs = captured.getvalue()
    assert "Received the following response" in logs and "Error handling request" in logs
    assert "Traceback" in logs and "storing workspace T7 failed" in logs
    assert logs.count(MASK) >= 10
    assert _leaks(logs) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_finding2_B10_run_verbose_logs_our_debug_but_no_token(tmp_path: Path) -> None:
    """`drillbot run -v` in Slack OAuth mode, through a real install against the fake Slack:
    drillbot's own lines are there, slack_sdk's DEBUG dump of the token exchange is not, and
    no token or secret is in the output."""
    fake = await FakeSlack(channel_interval=0).start()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "DRILLBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b10.db'}",
        "DRILLBOT_SECRET_KEY": FERNET_KEY,
        "DRILLBOT_HTTP_PORT": str(port),
        "SLACK_MODE": "http",
        "SLACK_SIGNING_SECRET": "signing-secret-of-the-test",
        "SLACK_CLIENT_ID": "111.222",
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_API_URL": fake.api_url,
    }
    env.pop("OPENAI_API_KEY", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "-v", "--platform", "slack",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{base}/healthz") as ready:
                        if ready.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
            async with session.get(f"{base}/slack/install") as page:
                state = re.search(r"state=([\w.%-]+)", await page.text())
            assert state
            async with session.get(
                f"{base}/slack/oauth_redirect?code=c0de&state={state.group(1)}",
                headers={"Cookie": f"slack-app-oauth-state={state.group(1)}"},
            ) as done:
                assert done.status == 200, await done.text()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        await fake.stop()
    logs = out.decode() + err.decode()
    assert fake.called("oauth.v2.access"), logs
    assert "INFO bot.platforms.slack.service: slack: HTTP mode" in logs
    assert "DEBUG slack_sdk" not in logs and "DEBUG slack_bolt" not in logs
    assert _leaks(logs) == [], logs
