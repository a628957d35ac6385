"""A fake Discord on 127.0.0.1: the REST API and the gateway, as discord.py 2.7 speaks them.

discord.py itself runs against it (its HTTP client, rate-limit handling, gateway, parsers and
view store), so the tests exercise the real protocol. The fake keeps what Discord would:
channels, threads, messages (with nonce enforcement), reactions, interaction callbacks and
webhook follow-ups, and it behaves as Discord does where the adapter depends on it:

- a second callback for one interaction is refused (400, code 40060);
- a 429 carries `retry_after` in the JSON body and a `Via` header (without one discord.py
  takes it for a Cloudflare ban);
- without the Message Content intent, guild messages arrive with empty content;
- a RESUME can be refused with INVALID_SESSION, so the client identifies anew.

Payload shapes come from `payloads/*.json` (see the README there for their sources).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
from aiohttp import WSMsgType, web

PAYLOADS = Path(__file__).parent / "payloads"
MANAGE_GUILD = 1 << 5
MESSAGE_CONTENT_INTENT = 1 << 15
EPHEMERAL = 1 << 6

Json = dict[str, Any]
Handler = Callable[[web.Request, re.Match[str], Any], Awaitable[web.Response]]


def payload(fixture: str, /, **fields: Any) -> Json:
    """A fresh copy of a payload fixture with some top-level fields replaced."""
    data: Json = json.loads((PAYLOADS / f"{fixture}.json").read_text(encoding="utf-8"))
    data.update(fields)
    return data


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when the content type is exactly application/json.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error(status: int, code: int, message: str) -> web.Response:
    return respond({"message": message, "code": code}, status)


def as_shown(content: str) -> str:
    """Message content as Discord's client shows it: a backslash escape shows its character."""
    return re.sub(r"\\(.)", r"\1", content)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


BOT = payload("user")
APPLICATION = payload("application")
BOT_ID = int(BOT["id"])


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class _Fault:
    """The next `remaining` requests matching answer `status` (429: a rate limit)."""

    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int


@dataclass
class FakeDiscord:
    """The server, its state, and helpers that play the users' side."""

    calls: list[Call] = field(default_factory=list)
    guilds: dict[int, Json] = field(default_factory=dict)
    channels: dict[int, Json] = field(default_factory=dict)
    users: dict[int, Json] = field(default_factory=dict)
    messages: dict[int, list[Json]] = field(default_factory=lambda: defaultdict(list))
    callbacks: dict[int, list[Json]] = field(default_factory=lambda: defaultdict(list))
    followups: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    reactions: list[tuple[int, int, str]] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    synced: dict[str, list[Json]] = field(default_factory=dict)
    forbidden: set[int] = field(default_factory=set)
    identifies: list[Json] = field(default_factory=list)
    resumes: int = 0
    #: Refuse a RESUME (INVALID_SESSION), as Discord does when the session is gone.
    refuse_resume: bool = True
    #: Awaited with each interaction's id as its first callback (defer, modal, message)
    #: arrives, before it is answered: a test looks at what the bot committed by then.
    on_callback: Callable[[int], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self._faults: list[_Fault] = []
        self._interactions: dict[int, Json] = {}
        self._ids = itertools.count(1)
        self._seq = 0
        self._ws: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in (
                ("GET", r"/users/@me", self._me),
                ("GET", r"/users/(?P<user>\d+)", self._user),
                ("GET", r"/oauth2/applications/@me", self._application),
                ("GET", r"/gateway/bot", self._gateway_bot),
                ("PUT", r"/applications/\d+(?:/guilds/(?P<guild>\d+))?/commands", self._sync),
                ("GET", r"/channels/(?P<channel>\d+)", self._channel),
                ("POST", r"/channels/(?P<channel>\d+)/messages", self._create_message),
                ("GET", r"/channels/(?P<channel>\d+)/messages", self._history),
                (
                    "POST",
                    r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)/threads",
                    self._start_thread,
                ),
                (
                    "PUT",
                    r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)/reactions/"
                    r"(?P<emoji>[^/]+)/@me",
                    self._react,
                ),
                ("POST", r"/users/@me/channels", self._open_dm),
                ("POST", r"/interactions/(?P<id>\d+)/(?P<token>[^/]+)/callback", self._callback),
                ("POST", r"/webhooks/\d+/(?P<token>[^/]+)", self._followup),
            )
        ]

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> int:
        """A fresh id whose timestamp is now (discord.py derives `created_at` from it)."""
        return discord.utils.time_snowflake(datetime.now(UTC)) + next(self._ids)

    # -- REST -------------------------------------------------------------------------------

    def rate_limit(self, method: str, pattern: str, times: int = 1) -> None:
        """The next `times` requests matching answer 429 (retry after 0.05 s)."""
        self._faults.append(_Fault(method, re.compile(pattern), times, 429))

    def fail(self, method: str, pattern: str, times: int = 1) -> None:
        """The next `times` requests matching answer 400 (not retried by discord.py)."""
        self._faults.append(_Fault(method, re.compile(pattern), times, 400))

    @staticmethod
    def _fault_response(status: int) -> web.Response:
        if status != 429:
            return error(status, 50035, "Invalid Form Body")
        return respond(
            payload("rate_limited"),
            429,
            {
                "Via": "1.1 google",
                "Retry-After": "1",
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": "0.05",
                "X-RateLimit-Bucket": "fake-bucket",
                "X-RateLimit-Scope": "user",
            },
        )

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await self._body(request)
        self.calls.append(Call(request.method, path, dict(request.query), body))
        for fault in self._faults:
            if fault.remaining and fault.method == request.method and fault.pattern.fullmatch(path):
                fault.remaining -= 1
                return self._fault_response(fault.status)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                return await handler(request, match, body)
        return error(404, 0, f"404: no fake route for {request.method} {path}")

    async def _body(self, request: web.Request) -> Any:
        """JSON, or multipart with `payload_json` and `files[n]` when a file is attached (the
        files are kept in `self.files`)."""
        if not request.can_read_body:
            return None
        if request.content_type != "multipart/form-data":
            return await request.json()
        form = await request.post()
        body = json.loads(str(form["payload_json"]))
        for name, value in form.items():
            if name.startswith("files[") and isinstance(value, web.FileField):
                self.files.append((value.filename, value.file.read()))
        return body

    async def _me(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        return respond(BOT)

    async def _user(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        user = self.users.get(int(match["user"]))
        return respond(user) if user else error(404, 10013, "Unknown User")

    async def _application(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        return respond(APPLICATION)

    async def _gateway_bot(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        return respond(payload("gateway_bot", url=self.gateway_url))

    async def _sync(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        synced = [
            {**command, "id": str(self.snowflake()), "application_id": APPLICATION["id"]}
            for command in body
        ]
        self.synced[match["guild"] or "global"] = synced
        return respond(synced)

    async def _channel(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        channel = self.channels.get(int(match["channel"]))
        return respond(channel) if channel else error(404, 10003, "Unknown Channel")

    async def _create_message(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        channel_id = int(match["channel"])
        if channel_id in self.forbidden:
            return error(403, 50013, "Missing Permissions")
        if channel_id not in self.channels:
            return error(404, 10003, "Unknown Channel")
        if body.get("enforce_nonce") and body.get("nonce"):
            for earlier in self.messages[channel_id]:
                if earlier.get("nonce") == body["nonce"] and earlier["author"]["id"] == BOT["id"]:
                    return respond(earlier)
        message = self._message(
            channel_id,
            BOT,
            body.get("content") or "",
            embeds=body.get("embeds", []),
            components=body.get("components", []),
            nonce=body.get("nonce"),
            flags=body.get("flags", 0),
        )
        self.messages[channel_id].append(message)
        await self._dispatch_message("MESSAGE_CREATE", message)
        return respond(message)

    async def _history(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        """Newest first, as Discord answers; `after` takes the oldest after it."""
        messages = sorted(self.messages[int(match["channel"])], key=lambda m: int(m["id"]))
        limit = int(request.query.get("limit", 50))
        if "after" in request.query:
            after = int(request.query["after"])
            page = [m for m in messages if int(m["id"]) > after][:limit]
        else:
            before = int(request.query.get("before", 2**64))
            page = [m for m in messages if int(m["id"]) < before][-limit:]
        return respond(list(reversed(page)))

    async def _start_thread(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        channel_id, message_id = int(match["channel"]), int(match["message"])
        if channel_id in self.forbidden:
            return error(403, 50013, "Missing Permissions")
        parent = self.channels[channel_id]
        thread = payload(
            "thread_channel",
            id=str(message_id),
            guild_id=parent["guild_id"],
            parent_id=str(channel_id),
            owner_id=BOT["id"],
            name=body["name"],
        )
        thread["thread_metadata"]["auto_archive_duration"] = body["auto_archive_duration"]
        self.channels[message_id] = thread
        for message in self.messages[channel_id]:
            if int(message["id"]) == message_id:
                message["thread"] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return respond(thread, 201)

    async def _react(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        self.reactions.append((int(match["channel"]), int(match["message"]), match["emoji"]))
        return web.Response(status=204)

    async def _open_dm(self, request: web.Request, match: re.Match[str], body: Any) -> web.Response:
        return respond(self.channels[self.open_dm(self.users[int(body["recipient_id"])])])

    async def _callback(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        interaction_id = int(match["id"])
        if self.callbacks[interaction_id]:
            return error(400, 40060, "Interaction has already been acknowledged.")
        if self.on_callback is not None:
            await self.on_callback(interaction_id)
        self.callbacks[interaction_id].append(body)
        flags = (body.get("data") or {}).get("flags", 0)
        answer = payload("interaction_callback", resource={"type": body["type"]})
        answer["interaction"].update(
            id=str(interaction_id),
            type=self._interactions[interaction_id]["type"],
            response_message_loading=body["type"] == 5,
            response_message_ephemeral=bool(flags & EPHEMERAL),
        )
        return respond(answer)

    async def _followup(
        self, request: web.Request, match: re.Match[str], body: Any
    ) -> web.Response:
        token = match["token"]
        self.followups[token].append(body)
        interaction = next(i for i in self._interactions.values() if i["token"] == token)
        message = self._message(
            int(interaction["channel_id"]),
            BOT,
            body.get("content") or "",
            flags=body.get("flags", 0),
        )
        return respond(message)

    # -- gateway ----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None})
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            if data["op"] == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif data["op"] == 2:
                await self._identify(data["d"])
            elif data["op"] == 6:
                self.resumes += 1
                if self.refuse_resume:
                    await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
                else:
                    await self.dispatch("RESUMED", {})
        return ws

    async def _identify(self, identify: Json) -> None:
        self._seq = 0
        await self.dispatch(
            "READY",
            payload(
                "ready",
                user=BOT,
                guilds=[{"id": str(g), "unavailable": True} for g in self.guilds],
                shard=identify.get("shard", [0, 1]),
                resume_gateway_url=self.gateway_url,
            ),
        )
        for guild_id in self.guilds:
            await self.dispatch("GUILD_CREATE", self._guild_create(guild_id))
        self.identifies.append(identify)

    def _guild_create(self, guild_id: int) -> Json:
        guild = copy.deepcopy(self.guilds[guild_id])
        own = [c for c in self.channels.values() if c.get("guild_id") == str(guild_id)]
        guild["channels"] = [c for c in own if c["type"] == 0]
        guild["threads"] = [c for c in own if c["type"] == 11]
        guild["members"] = [payload("member", user=BOT)]
        return guild

    @property
    def message_content(self) -> bool:
        """Whether the current session asked for the Message Content intent."""
        return bool(self.identifies and self.identifies[-1]["intents"] & MESSAGE_CONTENT_INTENT)

    async def dispatch(self, event: str, data: Json) -> None:
        if self._ws is None or self._ws.closed:
            return
        self._seq += 1
        await self._ws.send_json({"op": 0, "t": event, "s": self._seq, "d": data})

    async def reconnect(self) -> None:
        """Ask the client to reconnect (op 7); it tries to RESUME first."""
        assert self._ws is not None
        await self._ws.send_json({"op": 7, "d": None, "s": None, "t": None})

    # -- the users' side --------------------------------------------------------------------

    def add_user(self, name: str) -> Json:
        user = {
            "id": str(self.snowflake()),
            "username": name,
            "discriminator": "0",
            "global_name": name.title(),
            "avatar": None,
        }
        self.users[int(user["id"])] = user
        return user

    def add_guild(self, name: str, owner: Json) -> tuple[int, int]:
        """A guild with one text channel; (guild id, channel id). Add guilds before start."""
        guild_id = self.snowflake()
        self.guilds[guild_id] = payload(
            "guild_create", id=str(guild_id), name=name, owner_id=owner["id"]
        )
        self.guilds[guild_id]["roles"][0]["id"] = str(guild_id)
        return guild_id, self.add_channel(guild_id, "interview-prep")

    def add_channel(self, guild_id: int, name: str) -> int:
        channel_id = self.snowflake()
        self.channels[channel_id] = payload(
            "text_channel", id=str(channel_id), guild_id=str(guild_id), name=name
        )
        return channel_id

    def _message(self, channel_id: int, author: Json, content: str, **fields: Any) -> Json:
        return payload(
            "message",
            id=str(self.snowflake()),
            channel_id=str(channel_id),
            author=author,
            content=content,
            timestamp=now_iso(),
            **fields,
        )

    async def _dispatch_message(self, event: str, message: Json) -> None:
        """As the gateway sends it: with guild and member for guild messages, and without
        content when the session lacks the Message Content intent."""
        channel = self.channels[int(message["channel_id"])]
        data = copy.deepcopy(message)
        if "guild_id" in channel:
            data["guild_id"] = channel["guild_id"]
            data["member"] = payload("member", user=message["author"])
            mentioned = any(m["id"] == BOT["id"] for m in data["mentions"])
            if not self.message_content and not mentioned and data["author"]["id"] != BOT["id"]:
                data.update(content="", embeds=[], attachments=[], components=[])
        await self.dispatch(event, data)

    async def say(self, channel_id: int, user: Json, content: str, dispatch: bool = True) -> Json:
        """A user's message; `dispatch=False` is one said while the bot was away."""
        message = self._message(channel_id, user, content)
        self.messages[channel_id].append(message)
        if dispatch:
            await self._dispatch_message("MESSAGE_CREATE", message)
        return message

    async def edit(self, message: Json, content: str) -> Json:
        message.update(content=content, edited_timestamp=now_iso())
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def redeliver_message(self, event: str, message: Json) -> None:
        """The same message event once more, as a gateway may deliver it twice."""
        await self._dispatch_message(event, message)

    def _interaction(
        self, kind: int, user: Json, channel_id: int, data: Json, permissions: int, **fields: Any
    ) -> Json:
        channel = self.channels[channel_id]
        interaction_id = self.snowflake()
        interaction = payload(
            "interaction",
            id=str(interaction_id),
            type=kind,
            token=f"token-{interaction_id}",
            channel_id=str(channel_id),
            channel=channel,
            data=data,
            **fields,
        )
        if "guild_id" in channel:
            interaction["guild_id"] = channel["guild_id"]
            interaction["guild"] = {"id": channel["guild_id"], "locale": "en-US", "features": []}
            interaction["member"] = payload("member", user=user, permissions=str(permissions))
        else:
            interaction.update(
                user=user, context=1, authorizing_integration_owners={"1": user["id"]}
            )
        self._interactions[interaction_id] = interaction
        return interaction

    async def slash(
        self,
        user: Json,
        channel_id: int,
        subcommand: str,
        permissions: int = 0,
        **options: str,
    ) -> Json:
        """`/drill <subcommand> option:value ...`."""
        data = {
            "id": "1",
            "name": "drill",
            "type": 1,
            "options": [
                {
                    "name": subcommand,
                    "type": 1,
                    "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
                }
            ],
        }
        interaction = self._interaction(2, user, channel_id, data, permissions)
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def complete(
        self, user: Json, channel_id: int, subcommand: str, option: str, typed: str
    ) -> Json:
        """Discord asking for suggestions while `option` of `/drill <subcommand>` is typed."""
        focused = {"name": option, "type": 3, "value": typed, "focused": True}
        data = {
            "id": "1",
            "name": "drill",
            "type": 1,
            "options": [{"name": subcommand, "type": 1, "options": [focused]}],
        }
        interaction = self._interaction(4, user, channel_id, data, 0)
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def click(self, user: Json, message: Json, custom_id: str) -> Json:
        """A button of a message the bot posted."""
        data = {"custom_id": custom_id, "component_type": 2}
        interaction = self._interaction(
            3, user, int(message["channel_id"]), data, 0, message=message
        )
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def select(self, user: Json, message: Json, custom_id: str, values: list[str]) -> Json:
        """A string select of a message the bot posted, with the values now chosen."""
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        interaction = self._interaction(
            3, user, int(message["channel_id"]), data, 0, message=message
        )
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def submit(self, user: Json, message: Json, custom_id: str, text: str) -> Json:
        """A modal submitted (opened from a button of `message`), with its one text input."""
        data = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": text}]}
            ],
        }
        interaction = self._interaction(
            5, user, int(message["channel_id"]), data, 0, message=message
        )
        await self.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def redeliver_interaction(self, interaction: Json) -> None:
        """The same interaction once more."""
        await self.dispatch("INTERACTION_CREATE", interaction)

    # -- what the bot did -------------------------------------------------------------------

    def bot_messages(self, channel_id: int) -> list[Json]:
        return [m for m in self.messages[channel_id] if m["author"]["id"] == BOT["id"]]

    def replies(self, interaction: Json) -> list[str]:
        """Follow-up texts sent for an interaction."""
        return [f.get("content") or "" for f in self.followups[interaction["token"]]]

    def open_dm(self, user: Json) -> int:
        """The DM channel of `user` and the bot, created on first use as Discord does."""
        channel_id = self.dm_channel(user)
        if channel_id is None:
            channel_id = self.snowflake()
            self.channels[channel_id] = payload("dm_channel", id=str(channel_id), recipients=[user])
        return channel_id

    def dm_channel(self, user: Json) -> int | None:
        return next(
            (
                int(c["id"])
                for c in self.channels.values()
                if c["type"] == 1 and c["recipients"][0]["id"] == user["id"]
            ),
            None,
        )
