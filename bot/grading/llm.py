"""The LLM grader: any OpenAI-compatible endpoint through the openai SDK (3.x, over httpx2).

What it does per answer (docs/design.md "Grades"):
1. Deterministic floors first (`bot.grading.floors`, the check intake runs: blank, trivial, short,
   copied answers): score 0, no LLM call.
2. The pre-filter's flagged sentences are removed; the model never sees them, and the grade is
   flagged and capped at 5 by `compute_score`.
3. One call: the `grade` template (system: static instructions, schema and canary, then the
   rubric; user: the answer inside a random per-call delimiter), structured output from the
   `GradingOutput` pydantic model through `chat.completions.parse`. How the endpoint is asked
   for it is the JSON mode (the README says which fits which server):
   `schema` sends OpenAI's `json_schema` response format; `json_object_schema` sends
   `{"type": "json_object", "schema": ...}`, which llama.cpp turns into a grammar (a schema
   bounded for the rubric: `grammar_schema`);
   `json_object` sends plain JSON mode, and the prompt alone names the exact keys. Every mode
   gets the same parse and validation. Output that fails validation gets ONE repair call,
   part of the same grading request: it holds the same concurrency slot, its tokens are added
   to the grade's, and a second invalid reply ends the request.
4. Our code decides: each judgment's credit is capped by its evidence (`bot.grading.evidence`),
   misconceptions count only when their quote is in the answer, the score comes from
   `compute_score`, never from the model. Model text shown to users (feedback, corrections,
   follow-up questions, hints) is dropped when it holds the canary, the call's delimiter,
   anything the pre-filter flags or a copied `<...>` slot of the output shape; a leak of the
   canary or delimiter also flags the grade.

Failures: the SDK retries connection errors, timeouts, 429 and 5xx (`max_retries`, honouring
retry-after-ms) within an explicit timeout; what still fails raises `GraderUnavailable`, and so
does an open circuit breaker (no call is made). Output the model produced but we cannot use
(refusal, cut off at the token limit, invalid after the repair) raises `UnusableOutput`, a
`GraderUnavailable` that does not count against the breaker. The grader never invents a grade;
the engine gives a provisional offline grade and re-grades later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import JsonMode, Settings
from bot.errors import GraderUnavailable
from bot.grading.base import Grade, GradeRequest, Judgment, graded, rubric_weights
from bot.grading.breaker import CircuitBreaker
from bot.grading.evidence import allowed_credit, quoted
from bot.grading.floors import REASONS, floor_of
from bot.grading.prefilter import scan, strip_flagged
from bot.grading.prompts import Prompt, Prompts, new_delimiter
from bot.grading.text import normalise
from bot.packs import Question

_log = logging.getLogger(__name__)
Verdict = Literal["covered", "partly", "missed"]
CREDIT: dict[str, float] = {"covered": 1.0, "partly": 0.5, "missed": 0.0}
#: Sent when a base URL is set without a key: local servers need none, the SDK insists on one.
PLACEHOLDER_KEY = "sk-no-key-needed"
#: A slot of the prompt's output shape (`<1-3 sentences>`), copied instead of filled in, whole
#: or cut off by the length bound: small local models do this. A slot opens a text or follows a
#: space, and its `<` is followed by neither a space nor `=`, so `a < b`, `x <= 5` and
#: `Map<String, Integer>` in real feedback are not slots.
_SLOT = re.compile(r"^\s*<|(?:^|\s)<(?![\s=])[^<>\n]*\s[^<>\n]*>")
GRADE_MAX_TOKENS = 1500
TEXT_MAX_TOKENS = 200
FEEDBACK_MAX_SENTENCES = 3
FEEDBACK_MAX_CHARS = 600
EVIDENCE_MAX_CHARS = 300
CORRECTION_MAX_CHARS = 300
MISCONCEPTIONS_MAX = 3
QUESTION_MAX_CHARS = 300
LEAK_FLAG = "prompt_leak"
TEMPLATES = ("grade", "follow_up", "hint")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_WORD = re.compile(r"[^\W\d_]{2,}")
REPAIR = (
    "Your previous reply was not valid: {errors}. Reply again with one JSON object only, "
    "matching the schema in the instructions."
)

T = TypeVar("T", bound=BaseModel)
#: In the JSON schema of every output object: llama.cpp's grammar, and a reader of the prompt,
#: then allow no keys but the listed ones. Validation itself still ignores extra keys.
_CLOSED = ConfigDict(json_schema_extra={"additionalProperties": False})


class KeyPointJudgment(BaseModel):
    """The model's verdict on one key point, with the answer's words as evidence."""

    model_config = _CLOSED
    key_point: int = Field(description="number of the key point, as listed (1, 2, ...)")
    verdict: Verdict
    evidence: str = Field(description="exact quote of the answer; empty when missed")


class Misconception(BaseModel):
    """A wrong statement in the answer: its exact words and a correction."""

    model_config = _CLOSED
    quote: str = Field(description="exact quote of the wrong statement")
    correction: str = Field(description="one sentence saying what is right")


class GradingOutput(BaseModel):
    """What the model returns; it holds no score, our code computes it."""

    # Docstrings and descriptions here reach the model: they are in the schema. No numeric
    # or length bounds, on purpose: llama.cpp's grammar cannot enforce them, so our code
    # dedupes and ignores what is out of range instead (`_judgments`, `_misconceptions`).
    model_config = _CLOSED
    judgments: list[KeyPointJudgment]
    misconceptions: list[Misconception]
    feedback: str = Field(description="1-3 plain sentences to the candidate")


def grammar_schema(points: int) -> dict[str, Any]:
    """The output schema sent to a grammar-constrained endpoint (`json_object_schema`), for a
    rubric of `points` key points: exactly one judgment per key point, numbered in order, and
    bounded strings and lists.

    Why: llama.cpp's grammar enforces consts, enums, tuple items and string and list lengths
    (not numeric ranges), and a small model left unbounded writes on to the token limit, which
    on a CPU takes minutes. OpenAI's strict mode rejects some of these keywords, so the
    `schema` mode sends the plain schema. Validation is the same in every mode.
    """
    schema = GradingOutput.model_json_schema()
    judgment = schema["$defs"].pop("KeyPointJudgment")
    fields = judgment["properties"]
    fields["evidence"]["maxLength"] = EVIDENCE_MAX_CHARS
    numbered = [
        judgment | {"properties": fields | {"key_point": {"const": n}}}
        for n in range(1, points + 1)
    ]
    top = schema["properties"]
    top["judgments"] = {"type": "array", "prefixItems": numbered}
    top["judgments"] |= {"minItems": points, "maxItems": points}
    top["misconceptions"]["maxItems"] = MISCONCEPTIONS_MAX
    top["feedback"]["maxLength"] = FEEDBACK_MAX_CHARS
    wrong = schema["$defs"]["Misconception"]["properties"]
    wrong["quote"]["maxLength"] = EVIDENCE_MAX_CHARS
    wrong["correction"]["maxLength"] = CORRECTION_MAX_CHARS
    return schema


class UnusableOutput(GraderUnavailable):
    """The endpoint answered, but with nothing we can use (refusal, cut off, invalid, leak)."""


def is_endpoint_failure(exc: BaseException) -> bool:
    """What the circuit breaker counts: the endpoint could not be reached or said no."""
    return isinstance(exc, openai.APIConnectionError | openai.APIStatusError)


@dataclass
class Usage:
    """Tokens of every call made for one grade (the repair call included)."""

    tokens_in: int = 0
    tokens_out: int = 0

    def add(self, usage: Any) -> None:
        """Add a `CompletionUsage` or the raw `usage` dict of a response."""
        if usage is None:
            return
        if isinstance(usage, dict):
            self.tokens_in += int(usage.get("prompt_tokens") or 0)
            self.tokens_out += int(usage.get("completion_tokens") or 0)
        else:
            self.tokens_in += usage.prompt_tokens or 0
            self.tokens_out += usage.completion_tokens or 0


@dataclass(frozen=True)
class _Reply:
    """One parsed completion: the structured output (None for text), its text, the model."""

    parsed: Any
    text: str
    model: str


def _error_summary(exc: ValidationError) -> str:
    """Where and why validation failed, without echoing the model's output back to it."""
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)[:5]
    ]
    return "; ".join(parts)


def _messages(prompt: Prompt, extra: Sequence[str] = ()) -> list[ChatCompletionMessageParam]:
    """System then user message; a repair request follows as a second user message."""
    found: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user},
    ]
    found += [{"role": "user", "content": text} for text in extra]
    return found


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _ended(sentence: str) -> str:
    """A sentence with a full stop, unless it ends with one already (or "...", "!", "?")."""
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


class LLMGrader:
    """Grades with an LLM behind the checks of the module docstring; also writes follow-up
    questions and hints for mock interviews through the same client, gate and breaker."""

    name = "llm"
    version = "1"

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        json_mode: JsonMode = "schema",
        temperature: float | None = None,
        concurrency: int = 4,
        breaker: CircuitBreaker | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.json_mode = json_mode
        #: None: not sent (reasoning models reject any temperature).
        self.temperature = temperature
        self.breaker = breaker or CircuitBreaker(is_failure=is_endpoint_failure)
        self.prompts = prompts or Prompts()
        for template in TEMPLATES:  # a broken template stops start-up, not the first grade
            self.prompts.version(template)
        #: In every system prompt; must never reach a user. One per process keeps the
        #: system prompt's prefix identical across calls, so providers can cache it.
        self.canary = f"canary-{secrets.token_hex(8)}"
        #: Requests in flight: a grading request holds its slot through its repair call.
        self._gate = asyncio.Semaphore(concurrency)
        self._schema = json.dumps(GradingOutput.model_json_schema(), separators=(",", ":"))

    @classmethod
    def from_settings(
        cls, settings: Settings, http_client: httpx2.AsyncClient | None = None
    ) -> LLMGrader:
        """The grader of the configured endpoint (docs/design.md "Settings").

        `http_client` is for tests (an `httpx2.MockTransport`); by default the SDK's own.
        """
        if settings.openai_api_key is not None:
            key = settings.openai_api_key.get_secret_value()
        elif settings.openai_base_url:
            key = PLACEHOLDER_KEY
        else:
            raise ValueError("the llm grader needs OPENAI_API_KEY or OPENAI_BASE_URL")
        client = openai.AsyncOpenAI(
            api_key=key,
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            http_client=http_client,
        )
        return cls(
            client,
            settings.llm_model,
            json_mode=settings.llm_json_mode,
            temperature=settings.llm_temperature,
            concurrency=settings.llm_concurrency,
        )

    async def aclose(self) -> None:
        """Close the client's connections (the CLI and tests; the bot's run ends the process)."""
        await self.client.close()

    # --- calls ---------------------------------------------------------------------------

    def _options(
        self, output: type[BaseModel] | None, grammar: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The request's optional parameters: temperature when set, and the output format of
        the JSON mode. parse() validates against `output` in every mode; in the JSON-object
        modes `extra_body` replaces the `json_schema` format the SDK would send, with
        `grammar` (by default `output`'s schema) as the schema of `json_object_schema`."""
        found: dict[str, Any] = {}
        if self.temperature is not None:
            found["temperature"] = self.temperature
        if output is None:
            return found
        found["response_format"] = output
        if self.json_mode == "json_object_schema":
            schema = grammar or output.model_json_schema()
            found["extra_body"] = {"response_format": {"type": "json_object", "schema": schema}}
        elif self.json_mode == "json_object":
            found["extra_body"] = {"response_format": {"type": "json_object"}}
        return found

    async def _call(
        self,
        messages: list[ChatCompletionMessageParam],
        output: type[BaseModel] | None,
        max_tokens: int,
        usage: Usage,
        grammar: dict[str, Any] | None = None,
    ) -> _Reply:
        """One request (SDK transport retries aside) through the breaker; the caller holds
        the gate.

        Raises `GraderUnavailable` for endpoint failures, `UnusableOutput` for replies we
        cannot use and `ValidationError` for structured output that does not validate.
        """
        try:
            with self.breaker.guard():
                raw = await self.client.chat.completions.with_raw_response.parse(
                    model=self.model,
                    messages=messages,
                    max_tokens=max_tokens,
                    **self._options(output, grammar),
                )
        except (openai.APIConnectionError, openai.APIStatusError) as exc:
            raise GraderUnavailable(f"LLM endpoint failed: {type(exc).__name__}") from exc
        try:
            completion = raw.parse()
        except ValidationError:
            body = raw.http_response.json()
            usage.add(body.get("usage"))
            assert output is not None  # only structured output is validated
            return _Reply(_lenient(body, output), "", body.get("model") or self.model)
        except openai.LengthFinishReasonError as exc:
            usage.add(exc.completion.usage)
            raise UnusableOutput("the reply was cut off at the token limit") from exc
        except openai.ContentFilterFinishReasonError as exc:
            raise UnusableOutput("the reply was stopped by a content filter") from exc
        usage.add(completion.usage)
        message = completion.choices[0].message
        if message.refusal:
            raise UnusableOutput("the model refused")
        return _Reply(message.parsed, message.content or "", completion.model or self.model)

    async def _structured(
        self, prompt: Prompt, output: type[T], usage: Usage, grammar: dict[str, Any]
    ) -> tuple[T, str]:
        """Structured output: one grading request, which is one call, plus one repair call
        when the first reply does not validate. The request holds one slot of the gate
        throughout, so a repair never queues behind other answers. `grammar`: the schema of
        the `json_object_schema` mode."""
        repairs: list[str] = []
        async with self._gate:
            for _ in range(2):
                try:
                    reply = await self._call(
                        _messages(prompt, repairs), output, GRADE_MAX_TOKENS, usage, grammar
                    )
                except ValidationError as exc:
                    problem = _error_summary(exc)
                else:
                    if reply.parsed is not None:
                        return reply.parsed, reply.model
                    problem = "the reply was empty"
                repairs.append(REPAIR.format(errors=problem))
        raise UnusableOutput("the reply was invalid, also after a repair")

    # --- grading -------------------------------------------------------------------------

    async def grade(self, request: GradeRequest) -> Grade:
        """Grade one answer, or raise `GraderUnavailable` (see the module docstring)."""
        flags = scan(request.answer)
        floor = floor_of(request.question.prompt, request.answer)
        if floor is not None:
            grade = self._grade(request, [], [], REASONS[floor], flags, None, None, Usage())
            return grade.model_copy(update={"floored": True})
        seen = strip_flagged(request.answer)
        delimiter = new_delimiter(seen)
        prompt = self.prompts.render(
            "grade",
            canary=self.canary,
            schema=self._schema,
            question=request.question,
            key_points=request.rubric,
            misconceptions=[(m.text, i + 1) for i, m in request.misconceptions()],
            delimiter=delimiter,
            answer=seen,
        )
        usage = Usage()
        grammar = grammar_schema(len(request.rubric))
        output, model = await self._structured(prompt, GradingOutput, usage, grammar)
        judgments = self._judgments(request, output, seen)
        misconceptions, leaked = self._misconceptions(output, seen, delimiter)
        feedback = self._shown(output.feedback, delimiter, FEEDBACK_MAX_SENTENCES)
        if leaked or self._leaks(output.feedback, delimiter):
            _log.warning("the model leaked its instructions while grading; grade flagged")
            flags = [*flags, LEAK_FLAG]
        return self._grade(
            request, judgments, misconceptions, feedback, flags, model, prompt.version, usage
        )

    def _judgments(self, request: GradeRequest, output: GradingOutput, seen: str) -> list[Judgment]:
        """One judgment per rubric key point, its credit capped by its evidence."""
        by_number: dict[int, KeyPointJudgment] = {}
        for judged in output.judgments:
            by_number.setdefault(judged.key_point, judged)
        judgments: list[Judgment] = []
        for number, point in enumerate(request.rubric, 1):
            item = by_number.get(number)
            claimed = CREDIT[item.verdict] if item else 0.0
            if item is None or not claimed:
                judgments.append(Judgment(key_point=point.text, credit=0.0))
                continue
            cap = allowed_credit(item.evidence, seen, point.text, request.question.prompt)
            credit = min(claimed, cap)
            judgments.append(
                Judgment(
                    key_point=point.text, credit=credit, evidence=item.evidence if credit else None
                )
            )
        return judgments

    def _misconceptions(
        self, output: GradingOutput, seen: str, delimiter: str
    ) -> tuple[list[str], bool]:
        """Misconceptions whose quote is in the answer (each costs a point), as shown text;
        and whether any correction leaked the canary or the delimiter."""
        shown: list[str] = []
        quotes: set[str] = set()
        leaked = False
        for item in output.misconceptions:
            key = " ".join(normalise(item.quote).split())
            if key in quotes or not quoted(item.quote, seen):
                continue
            quotes.add(key)
            text = self._shown(item.correction, delimiter, 1)
            if text is None:
                leaked = leaked or self._leaks(item.correction, delimiter)
                text = f'This statement is not right: "{_short(item.quote)}"'
            shown.append(text)
        return shown, leaked

    def _leaks(self, text: str, delimiter: str) -> bool:
        folded = normalise(text)
        return self.canary in folded or delimiter in folded

    def _shown(self, text: str, delimiter: str, max_sentences: int) -> str | None:
        """Model text fit to show a user, trimmed; None when it leaks, reads as steered (the
        pre-filter flags it: a score, a role marker), holds no word (empty, or debris such
        as `:{` that a small grammar-constrained model writes) or copies a slot of the output
        shape (`<1-3 sentences>`, seen stored as feedback). Callers decide what replaces it:
        plain feedback written from the verdicts, a generic correction, or `UnusableOutput`
        for a follow-up or hint."""
        if (self._leaks(text, delimiter) or scan(text) or not _WORD.search(text)
                or _SLOT.search(text)):
            return None
        flat = " ".join(text.split())
        ends = [m.end() for m in _SENTENCE_END.finditer(flat)]
        if len(ends) > max_sentences:
            flat = flat[: ends[max_sentences - 1]]
        return _short(flat, FEEDBACK_MAX_CHARS) or None

    def _grade(
        self,
        request: GradeRequest,
        judgments: list[Judgment],
        misconceptions: list[str],
        feedback: str | None,
        flags: list[str],
        model: str | None,
        prompt_version: str | None,
        usage: Usage,
    ) -> Grade:
        """Assemble the Grade; with no judgments (a floor) every key point is missed."""
        if not judgments:
            judgments = [Judgment(key_point=p.text, credit=0.0) for p in request.rubric]
        return graded(
            judgments,
            request.rubric,
            misconceptions=misconceptions,
            flags=flags,
            feedback=feedback or _plain_feedback(judgments, rubric_weights(request.rubric)),
            grader=self.name,
            grader_version=self.version,
            model=model,
            prompt_version=prompt_version,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
        )

    # --- mock interviews -----------------------------------------------------------------

    async def follow_up(self, question: Question, answer: str, missed_points: Sequence[str]) -> str:
        """One follow-up question probing the most important missed point."""
        return await self._text("follow_up", question, answer, missed_points)

    async def hint(
        self, question: Question, answer_so_far: str, missed_points: Sequence[str]
    ) -> str:
        """A nudge towards the first missed key point, without giving it away."""
        return await self._text("hint", question, answer_so_far, missed_points)

    async def _text(
        self, template: str, question: Question, answer: str, missed_points: Sequence[str]
    ) -> str:
        """Plain text from a template; `UnusableOutput` when it leaks, is empty or is steered."""
        seen = strip_flagged(answer)
        delimiter = new_delimiter(seen)
        prompt = self.prompts.render(
            template,
            canary=self.canary,
            question=question,
            missed_points=list(missed_points),
            delimiter=delimiter,
            answer=seen,
        )
        async with self._gate:
            reply = await self._call(_messages(prompt), None, TEXT_MAX_TOKENS, Usage())
        text = self._shown(reply.text, delimiter, 2)
        if not text:
            if self._leaks(reply.text, delimiter):
                _log.warning("the model leaked its instructions in a %s; refused", template)
            raise UnusableOutput(f"the model's {template.replace('_', ' ')} cannot be shown")
        return _short(text, QUESTION_MAX_CHARS)


def _lenient(body: dict[str, Any], output: type[T]) -> T:
    """The reply's JSON read leniently; a `ValidationError` when it still does not validate.

    Why: a grammar-constrained local model (llama.cpp) writes raw newlines and tabs inside
    strings now and then, which strict JSON forbids. Such JSON is unambiguous, so it is read as
    Python's `json` does with `strict=False` rather than costing a repair call.
    """
    choices = body.get("choices") or [{}]
    content = (choices[0].get("message") or {}).get("content") or ""
    try:
        value = json.loads(content, strict=False)
    except ValueError:
        return output.model_validate_json(content)  # raises the strict parser's error
    return output.model_validate(value)


def _plain_feedback(judgments: Sequence[Judgment], weights: dict[str, float]) -> str:
    """Feedback written by our code, when the model's cannot be shown (or there is no model)."""
    covered = [j.key_point for j in judgments if j.credit == 1.0]
    missing = [j for j in judgments if j.credit < 1.0]
    parts = [_ended(f"You covered: {_short(covered[0], 60)}")] if covered else []
    if missing:
        top = max(missing, key=lambda j: (weights.get(j.key_point, 1.0), -j.credit))
        parts.append(_ended(f"The most important point to add: {_short(top.key_point)}"))
    else:
        parts.append("Every key point is there.")
    return " ".join(parts)
