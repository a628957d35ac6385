"""A fake Slack on 127.0.0.1 (port 0): Web API, response URLs and Socket Mode.

It records every call and enforces what matters to drillbot: bot tokens per workspace
(`invalid_auth` otherwise, `token_revoked` for a revoked or replaced one), `chat.postMessage`
at one message per `channel_interval` per channel and at most `workspace_per_second` per
workspace in any trailing second (429 with an integer Retry-After, as Slack sends), channels
the bot cannot post in, and injectable 429 storms. Messages are kept per channel, with their
metadata, so `conversations.history` can be searched. `/link` is a Socket Mode WebSocket: it
says hello, pushes envelopes and keeps acks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

PAYLOADS = Path(__file__).parent / "payloads"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    team: str | None
    at: float


@dataclass
class Team:
    id: str
    name: str
    token: str
    bot_user_id: str
    bot_id: str


@dataclass
class Storm:
    """The next `count` calls of a method get 429 with this Retry-After."""

    count: int
    retry_after: int = 0


@dataclass
class FakeSlack:
    channel_interval: float = 1.0
    workspace_per_second: int = 10
    clock: Callable[[], float] = time.time
    calls: list[Call] = field(default_factory=list)
    teams: dict[str, Team] = field(default_factory=dict)  # by token
    users: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[str, str], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    unavailable: dict[tuple[str, str], str] = field(default_factory=dict)
    storms: dict[str, Storm] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # by file id
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes received
    revoked: set[str] = field(default_factory=set)
    rejected: int = 0
    url: str = ""
    #: Channels whose chat.postMessage posts the message and then does not answer until
    #: `release_hung()` (a hung connection); `hung` counts such requests still waiting.
    hang: set[tuple[str, str]] = field(default_factory=set)
    hung: int = 0

    def __post_init__(self) -> None:
        self._last_post: dict[tuple[str, str], float] = {}
        self._team_posts: dict[str, deque[float]] = defaultdict(deque)
        self._last_ts = 0.0
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()

    # -- set-up --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._link)
        app.router.add_post("/_fake/teams", self._control_teams)
        app.router.add_get("/_fake/stats", self._control_stats)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def release_hung(self) -> None:
        """Answer the hung requests and hang no more."""
        self.hang.clear()
        self._released.set()

    async def stop(self) -> None:
        self.release_hung()
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def add_team(self, team_id: str, name: str = "") -> Team:
        team = Team(
            team_id, name or f"team {team_id}", f"xoxb-{team_id}", f"UB{team_id}", f"BB{team_id}"
        )
        self.teams[team.token] = team
        return team

    def reissue(self, team_id: str, revoke_old: bool = True) -> str:
        """A reinstall: the team gets a new bot token; the old one answers `token_revoked`
        (or keeps working, as Slack may leave it, with `revoke_old=False`)."""
        old = next(t for t in self.teams.values() if t.id == team_id)
        new = Team(old.id, old.name, f"{old.token}-{len(self.teams) + len(self.revoked)}",
                   old.bot_user_id, old.bot_id)  # fmt: skip
        self.teams[new.token] = new
        if revoke_old:
            self.revoke(old.token)
        return new.token

    def revoke(self, token: str) -> None:
        """The token stops working (an uninstall, a revocation): `token_revoked`."""
        self.teams.pop(token, None)
        self.revoked.add(token)

    def add_user(self, team_id: str, user_id: str, name: str = "", admin: bool = False) -> None:
        self.users[(team_id, user_id)] = {
            "id": user_id,
            "team_id": team_id,
            "name": name or user_id.lower(),
            "real_name": name or user_id,
            "is_admin": admin,
            "is_owner": False,
            "profile": {"display_name": name},
        }

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    # -- what tests look at --------------------------------------------------------------------

    def called(self, method: str, team: str | None = None) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method and team in (None, c.team)]

    def posts(self, team: str, channel: str) -> list[dict[str, Any]]:
        return self.messages[(team, channel)]

    def ephemerals(self, team: str, user: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.called("chat.postEphemeral", team) if user in (None, p["user"])]

    # -- Socket Mode ---------------------------------------------------------------------------

    async def push(
        self, payload: dict[str, Any], kind: str = "events_api", retry_attempt: int | None = None
    ) -> str:
        """Send an envelope to every connected client; its envelope id."""
        envelope = json.loads((PAYLOADS / "socket_envelope.json").read_text())
        envelope.update(
            envelope_id=str(uuid.uuid4()),
            payload=payload,
            type=kind,
            accepts_response_payload=kind != "events_api",
        )
        if retry_attempt is None:
            envelope.pop("retry_attempt")
            envelope.pop("retry_reason")
        else:
            envelope["retry_attempt"] = retry_attempt
        for ws in self._sockets:
            await ws.send_str(json.dumps(envelope))
        return str(envelope["envelope_id"])

    @property
    def socket_clients(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A111"}}
            )
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
        return ws

    # -- control, when the fake runs in a process of its own (benchmarks) ----------------------

    async def _control_teams(self, request: web.Request) -> web.Response:
        body = await request.json()
        for team in body["teams"]:
            self.add_team(team)
            for user in body.get("users", []):
                self.add_user(team, user)
        return web.json_response({"ok": True})

    async def _control_stats(self, request: web.Request) -> web.Response:
        counts: dict[str, int] = defaultdict(int)
        for call in self.calls:
            counts[call.method] += 1
        return web.json_response(
            {
                "posts": {f"{t}/{c}": len(m) for (t, c), m in self.messages.items()},
                "rejected": self.rejected,
                "calls": counts,
            }
        )

    # -- the Web API ---------------------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append({"key": request.match_info["key"], **await request.json()})
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2 of files_upload_v2: the bytes, posted to the URL step 1 handed out."""
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK")

    def _files_getUploadURLExternal(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{len(self.uploads) + len(self.files) + 1:05d}"
        self.files[file_id] = {"id": file_id, "name": params.get("filename"), "team": team.id}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        shared = (
            json.loads(params["files"]) if isinstance(params["files"], str) else params["files"]
        )
        for item in shared:
            self.files[item["id"]].update(
                title=item.get("title"),
                channel=params.get("channel_id"),
                comment=params.get("initial_comment"),
            )
        return {"ok": True, "files": [self.files[item["id"]] for item in shared]}

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        team = self.teams.get(token)
        self.calls.append(Call(method, params, team.id if team else None, time.monotonic()))
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(params))
        if method == "apps.connections.open":
            ok = token.startswith("xapp-")
            return web.json_response(
                {"ok": ok, "url": self.url.replace("http", "ws") + "/link"}
                if ok
                else {"ok": False, "error": "invalid_auth"}
            )
        if team is None:
            error = "token_revoked" if token in self.revoked else "invalid_auth"
            return web.json_response({"ok": False, "error": error})
        storm = self.storms.get(method)
        if storm is not None and storm.count > 0:
            storm.count -= 1
            return self._too_many(storm.retry_after)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": True})
        result = handler(team, params)
        if method == "chat.postMessage" and (team.id, str(params.get("channel"))) in self.hang:
            self.hung += 1
            try:
                await self._released.wait()
            finally:
                self.hung -= 1
        if isinstance(result, web.Response):
            return result
        return web.json_response(result)

    def _too_many(self, retry_after: float) -> web.Response:
        self.rejected += 1
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(int(retry_after))},
        )

    def _next_ts(self) -> str:
        ts = max(self.clock(), self._last_ts + 0.000001)
        self._last_ts = ts
        return f"{ts:.6f}"

    def _auth_test(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "team_id": team.id,
            "team": team.name,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "user": "drillbot",
            "url": f"https://{team.id}.slack.com/",
        }

    def _chat_postMessage(self, team: Team, params: dict[str, Any]) -> Any:
        channel = str(params["channel"])
        if (team.id, channel) in self.unavailable:
            return {"ok": False, "error": self.unavailable[(team.id, channel)]}
        now = time.monotonic()
        last = self._last_post.get((team.id, channel))
        if last is not None and now - last < self.channel_interval:
            return self._too_many(max(1, math.ceil(self.channel_interval - (now - last))))
        window = self._team_posts[team.id]
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.workspace_per_second:
            return self._too_many(1)
        self._last_post[(team.id, channel)] = now
        window.append(now)
        message = {
            "type": "message",
            "user": team.bot_user_id,
            "bot_id": team.bot_id,
            "ts": self._next_ts(),
            **{k: v for k, v in params.items() if k != "channel"},
        }
        self.messages[(team.id, channel)].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_postEphemeral(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        if (team.id, str(params["channel"])) in self.unavailable:
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_history(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        found = []
        for message in reversed(self.messages[(team.id, str(params["channel"]))]):
            if message.get("thread_ts") or float(message["ts"]) < oldest:
                continue
            shown = dict(message)
            if not with_metadata:
                shown.pop("metadata", None)
            found.append(shown)
        return {"ok": True, "messages": found[: int(params.get("limit") or 100)], "has_more": False}

    def _conversations_open(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params["users"])
        if (team.id, user) not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": f"D{user}"}}

    def _users_info(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get((team.id, str(params["user"])))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _users_list(self, team: Team, params: dict[str, Any]) -> dict[str, Any]:
        members = [u for (t, _), u in self.users.items() if t == team.id]
        return {"ok": True, "members": members}

    def _oauth_access(self, params: dict[str, Any]) -> dict[str, Any]:
        """Exchange any code for the documented example installation (its own team)."""
        answer = json.loads((PAYLOADS / "oauth_v2_access.json").read_text())
        team = self.add_team(answer["team"]["id"], answer["team"]["name"])
        answer["access_token"] = team.token
        answer["bot_user_id"] = team.bot_user_id
        return dict(answer)


async def _params(request: web.Request) -> dict[str, Any]:
    """Slack accepts JSON bodies, form bodies and query strings."""
    params: dict[str, Any] = dict(request.query)
    raw = await request.text()
    if not raw:
        return params
    if request.content_type == "application/json":
        params.update(json.loads(raw))
    else:
        params.update(parse_qsl(raw))
    for key in ("blocks", "metadata", "view"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


async def _serve(channel_interval: float, workspace_per_second: int) -> None:
    """Run until standard input closes; the first line printed is the base URL."""
    fake = await FakeSlack(channel_interval, workspace_per_second).start()
    print(fake.url, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="a fake Slack on 127.0.0.1 (benchmarks)")
    parser.add_argument("--channel-interval", type=float, default=1.0)
    parser.add_argument("--workspace-per-second", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(_serve(options.channel_interval, options.workspace_per_second))
