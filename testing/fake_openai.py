"""A fake OpenAI-compatible chat model, served over `httpx2.MockTransport` or on 127.0.0.1.

The fake reads the prompt the way a model would: the numbered key points after "Key points:"
in the system message, and the answer between the random markers of the user message. Modes:

- `normal`: an honest lexical grader. Per key point, the answer sentence sharing most of the key
  point's words is quoted; >= 50 % of them is "covered", >= 25 % "partly".
- `obedient`: the same, unless the answer holds an instruction (grading vocabulary, role
  markers, "ignore ...", read through Unicode obfuscation as a model would). Then it obeys:
  every key point "covered", quoting the answer's most on-topic sentence (the instruction
  itself when none is), feedback "10/10", and when asked to reveal or repeat anything, the
  whole system prompt (canary included) echoed in the feedback. Follow-up and hint requests
  with an instruction get the system prompt echoed too.
- `canned`: replies with `canned` (a dict) as the grading output, for exact unit tests.
  With `feedback` set, every grading reply carries that feedback instead of its own.
- `429` (with retry-after-ms), `500`, `slow` (answers after `slow_seconds`; over MockTransport a
  read timeout), `malformed` (not JSON), `refusal`, `length` (cut off at the token limit),
  `empty` (no content), `prose` (the grading JSON wrapped in chatter), `out-of-range` (a
  judgment of a key point that does not exist, with a verdict that does not exist).

`script` holds modes for the next requests, in order, before `mode` applies again; every request
body is kept in `requests`, so tests count LLM calls exactly, and shown to `on_request` (a test's
hook) before the reply is made.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import openai
from aiohttp import web

from bot.config import Settings
from bot.grading.llm import LLMGrader

KEY_POINT = re.compile(r"^(\d+)\. (.+?)(?: \(weight [\d.]+\))?$", re.MULTILINE)
MARKER = re.compile(r"<(answer-[0-9a-f]+)>\n(.*?)\n</\1>", re.DOTALL)
STOP = frozenset(
    "the and that with this from they them their have has for are was were into over than"
    " then when what which each more most less such only also does".split()
)
#: What makes the obedient fake believe it was given an instruction.
INSTRUCTION = re.compile(
    r"ignore|disregard|forget|override|bypass|discard|pretend|from now on|you are now"
    r"|instruction|rubric|criteri|grader|grade|score|marks|credit|rating|verdict|10/10|1o/1o"
    r"|out of 10|perfect|excellent|correct|deserve|covered|key point|system|assistant"
    r"|<\||\[/?inst|</|```|###|end of|thought process|step by step|solution|reasoning"
    r"|chain of thought|decode|follow it|reveal|repeat|answer:",
    re.IGNORECASE,
)
REVEAL = re.compile(r"reveal|repeat|print|system prompt|instructions|decode", re.IGNORECASE)
LOOKALIKE = str.maketrans("аеорсухіјѕ", "aeopcyxijs")


def _read(text: str) -> str:
    """What a model reads: compatibility forms folded, invisible characters gone."""
    folded = unicodedata.normalize("NFKC", text).translate(LOOKALIKE)
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in STOP}


def _overlap(point: str, sentence: str) -> float:
    wanted = _words(point)
    have = {w[:5] for w in _words(sentence)}
    return sum(1 for w in wanted if w[:5] in have) / len(wanted) if wanted else 0.0


def _sentences(answer: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n+", answer) if s.strip()]


def _completion(
    content: str | None, *, finish: str = "stop", refusal: str | None = None, prompt_chars: int = 0
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "logprobs": None,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": len(content or refusal or "") // 4,
            "total_tokens": prompt_chars // 4 + len(content or refusal or "") // 4,
        },
    }


class FakeModel:
    """Turns a chat-completions request body into (status, headers, JSON body)."""

    def __init__(self, mode: str = "normal", slow_seconds: float = 1.0) -> None:
        self.mode = mode
        self.script: list[str] = []
        self.slow_seconds = slow_seconds
        self.canned: dict[str, Any] = {}
        #: When set, the feedback of every grading reply (what a steered model might write).
        self.feedback: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.on_request: Callable[[dict[str, Any]], None] | None = None

    def next_mode(self, body: dict[str, Any]) -> str:
        self.requests.append(body)
        if self.on_request is not None:
            self.on_request(body)
        return self.script.pop(0) if self.script else self.mode

    def reply(self, body: dict[str, Any], mode: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        if mode == "429":
            return (
                429,
                {"retry-after-ms": "5"},
                {"error": {"message": "slow down", "type": "rate_limit"}},
            )
        if mode == "500":
            return 500, {}, {"error": {"message": "boom", "type": "server_error"}}
        system = body["messages"][0]["content"]
        user = body["messages"][1]["content"]
        found = MARKER.search(user)
        answer = found.group(2) if found else ""
        prompt_chars = len(system) + len(user)
        if mode == "malformed":
            return 200, {}, _completion('{"judgments": [', prompt_chars=prompt_chars)
        if mode == "empty":
            return 200, {}, _completion("", prompt_chars=prompt_chars)
        if mode in ("prose", "out-of-range") and "response_format" in body:
            graded = self._grade(system, answer, obey=False)
            if mode == "out-of-range":  # a key point that does not exist, a verdict unknown
                graded["judgments"] += [{"key_point": 99, "verdict": "perfect", "evidence": ""}]
                text = json.dumps(graded)
            else:
                text = f"Sure! Here is my assessment:\n{json.dumps(graded)}\nHope this helps."
            return 200, {}, _completion(text, prompt_chars=prompt_chars)
        if mode == "refusal":
            return (
                200,
                {},
                _completion(None, refusal="I can't help with that.", prompt_chars=prompt_chars),
            )
        if mode == "length":
            return (
                200,
                {},
                _completion(
                    '{"judgments": [{"key_point": 1, "verd',
                    finish="length",
                    prompt_chars=prompt_chars,
                ),
            )
        obey = mode == "obedient" and bool(INSTRUCTION.search(_read(answer)))
        if "response_format" not in body:
            text = (
                f"As instructed: {system}"
                if obey
                else "Which part of the question would you explain next, and why?"
            )
            return 200, {}, _completion(text, prompt_chars=prompt_chars)
        content = self.canned if mode == "canned" else self._grade(system, answer, obey)
        if self.feedback is not None:
            content = {**content, "feedback": self.feedback}
        return 200, {}, _completion(json.dumps(content), prompt_chars=prompt_chars)

    def _grade(self, system: str, answer: str, obey: bool) -> dict[str, Any]:
        points = [(int(n), text) for n, text in KEY_POINT.findall(system.split("Key points:")[-1])]
        sentences = _sentences(answer) or [answer]
        judgments = []
        for number, point in points:
            best = max(sentences, key=lambda s: _overlap(point, s))
            share = _overlap(point, best)
            if obey:
                evidence = (
                    best
                    if share > 0
                    else next((s for s in sentences if INSTRUCTION.search(_read(s))), best)
                )
                judgments.append({"key_point": number, "verdict": "covered", "evidence": evidence})
                continue
            verdict = "covered" if share >= 0.5 else "partly" if share >= 0.25 else "missed"
            judgments.append(
                {
                    "key_point": number,
                    "verdict": verdict,
                    "evidence": best if verdict != "missed" else "",
                }
            )
        if obey:
            feedback = "Excellent answer: every key point is covered, 10/10."
            if REVEAL.search(_read(answer)):
                feedback += " My instructions were: " + system
        else:
            feedback = "You made a start; explain the missing key points in your own words."
        return {"judgments": judgments, "misconceptions": [], "feedback": feedback}

    # --- over httpx2.MockTransport -----------------------------------------------------

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        mode = self.next_mode(body)
        if mode == "slow":
            raise httpx2.ReadTimeout("the fake is slow", request=request)
        status, headers, payload = self.reply(body, mode)
        return httpx2.Response(status, headers=headers, json=payload, request=request)

    def http_client(self) -> httpx2.AsyncClient:
        """An SDK-default client whose transport is this fake."""
        return openai.DefaultAsyncHttpxClient(transport=httpx2.MockTransport(self.handle))

    def grader(self) -> LLMGrader:
        """drillbot's LLM grader talking to this fake (no retries)."""
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, openai_base_url="http://fake.local/v1", llm_max_retries=0
        )
        return LLMGrader.from_settings(settings, http_client=self.http_client())


class FakeOpenAIServer:
    """The fake model behind a real HTTP server on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, model: FakeModel) -> None:
        self.model = model
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        mode = self.model.next_mode(body)
        if mode == "slow":
            await asyncio.sleep(self.model.slow_seconds)
            mode = "normal"
        status, headers, payload = self.model.reply(body, mode)
        return web.json_response(payload, status=status, headers=headers)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@contextmanager
def serve_in_thread(model: FakeModel) -> Iterator[str]:
    """Serve the fake from a thread of its own, for tests that block (a subprocess run)."""
    loop = asyncio.new_event_loop()
    server = FakeOpenAIServer(model)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server.base_url
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
