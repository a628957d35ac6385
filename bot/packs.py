"""Question packs: the pydantic model of `questions/*.yaml`, the loader and the in-memory bank.

A pack is a YAML file with an optional `topics` list (slugs a team pack declares for itself)
and a `questions` list. The rules are those of docs/design.md ("Question packs"). The loader
collects *every* problem of every file before failing, and each problem names the file, the
question id and the field, so a pack author fixes a broken pack in one pass.

A pack file is capped at `MAX_PACK_BYTES` (the shipped ones are about 100 kB; a 50 MB pack
took 56 s and 1.4 GB of memory to load) and parsed by libyaml's safe loader where PyYAML was
built with it (pure-Python parsing is several times slower).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.config import SHIPPED_PACKS
from bot.errors import PackError

#: The largest pack file the loader reads.
MAX_PACK_BYTES = 5 * 1024 * 1024
#: libyaml's safe loader when PyYAML has it, else the pure-Python one (same documents).
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Difficulty = Literal["easy", "medium", "hard"]
SLUG = r"^[a-z0-9][a-z0-9-]*$"
#: Ids removed from a bank, one per line (`# comments` allowed). Stored answers and review cards
#: point at question ids, so a retired id must never name a different question later.
RETIRED_FILE = "retired.txt"
#: The weight of a shipped open question's one central key point (every other point weighs 1),
#: so the same answer quality scores alike in every topic of the shipped bank.
CENTRAL_WEIGHT = 2.0

#: The documented topics of the shipped bank. A team pack may declare more in its `topics` list.
BUILTIN_TOPICS: dict[str, str] = {
    "ml-fundamentals": "Learning paradigms, bias/variance, overfitting, classic algorithms",
    "evaluation": "Metrics, validation, cross-validation, A/B tests",
    "feature-engineering": "Missing data, scaling, encoding, leakage, feature selection",
    "deep-learning": "Neural networks, backpropagation, optimisers, regularisation, CNN/RNN",
    "transformers": "Attention, transformer architecture, positional encodings",
    "llm": "LLMs and generative AI: embeddings, RAG, prompting, fine-tuning, hallucination",
    "mlops": "Deployment, monitoring, drift, feature stores, CI/CD for models",
    "ml-system-design": "Designing ML systems end to end",
    "statistics": "Probability and statistics",
    "ml-math": "Linear algebra and calculus behind ML",
    "backend": "APIs, HTTP, caching, databases, microservices, security",
    "coding": "Algorithms and data structures: explain the approach and its complexity",
    "behavioral": "Behavioural questions answered with STAR",
    "sql-data": "SQL and data manipulation: joins, aggregation, window functions, NULLs, indexes",
    "responsible-ai": "Explainability, fairness, privacy and the governance of ML systems",
    "data-systems": "Data-intensive backends: SQL vs NoSQL, CAP, queues and streams, idempotency",
}


class KeyPoint(BaseModel):
    """One independently checkable statement a good answer makes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Annotated[str, Field(min_length=3)]
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0


class KnownMisconception(BaseModel):
    """A wrong belief candidates state about a question, and the key point (1-based) it
    contradicts. Interviewers keep such a list beside the rubric; the LLM grader is given it,
    to tell an answer that states a point wrongly from one that states it (docs/design.md
    "Question packs")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Annotated[str, Field(min_length=10, max_length=300)]
    point: Annotated[int, Field(ge=1, le=7)]


class Question(BaseModel):
    """One question of a pack, open (rubric-graded) or multiple choice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=SLUG, max_length=80)]
    topic: Annotated[str, Field(pattern=SLUG)]
    difficulty: Difficulty
    type: Literal["open", "mcq"]
    prompt: Annotated[str, Field(min_length=10)]
    family: Annotated[str, Field(pattern=SLUG)] | None = None
    tags: list[str] = []
    source: str | None = None
    reference_answer: str | None = None
    key_points: list[KeyPoint] = []
    follow_ups: Annotated[list[str], Field(max_length=3)] = []
    misconceptions: Annotated[list[KnownMisconception], Field(max_length=5)] = []
    choices: list[str] = []
    answer: str | None = None
    explanation: str | None = None

    @field_validator("key_points", mode="before")
    @classmethod
    def _plain_key_points(cls, value: object) -> object:
        """Allow `- text` as shorthand for `- {text: ..., weight: 1}`."""
        if isinstance(value, list):
            return [{"text": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("answer")
    @classmethod
    def _letter(cls, value: str | None) -> str | None:
        """`answer: b` means B: letters are compared and shown upper-case."""
        return value.strip().upper() if value else value

    @model_validator(mode="after")
    def _type_rules(self) -> Question:
        if self.type == "open":
            if not self.reference_answer or len(self.reference_answer.strip()) < 20:
                raise ValueError("reference_answer: an open question needs a reference answer")
            if not 3 <= len(self.key_points) <= 7:
                raise ValueError(
                    f"key_points: an open question needs 3-7 key points, has {len(self.key_points)}"
                )
            if self.choices or self.answer:
                raise ValueError("choices: only mcq questions have choices and an answer")
            for m in self.misconceptions:
                if m.point > len(self.key_points):
                    raise ValueError(
                        f"misconceptions: point {m.point} names no key point (there are "
                        f"{len(self.key_points)}): {m.text[:60]!r}"
                    )
            texts = [kp.text.strip().lower() for kp in self.key_points]
            if len(set(texts)) != len(texts):
                # A follow-up's rubric names key points by text: two equal texts are one point.
                raise ValueError("key_points: two key points have the same text")
        else:
            if not 2 <= len(self.choices) <= 6:
                raise ValueError(f"choices: an mcq needs 2-6 choices, has {len(self.choices)}")
            letters = self.letters
            if not self.answer or self.answer.upper() not in letters:
                raise ValueError(
                    f"answer: must be exactly one letter naming a choice, one of "
                    f"{', '.join(letters)}; got {self.answer!r}"
                )
            if len({c.strip().lower() for c in self.choices}) != len(self.choices):
                raise ValueError("choices: two choices are the same, so more than one is correct")
            if not self.explanation:
                raise ValueError("explanation: an mcq needs an explanation shown after answering")
            if self.misconceptions:
                raise ValueError("misconceptions: only open questions list misconceptions")
        return self

    @property
    def letters(self) -> list[str]:
        """The choice letters, A, B, C..."""
        return [chr(ord("A") + i) for i in range(len(self.choices))]

    def contradicted(self, misconception: KnownMisconception) -> KeyPoint:
        """The key point a misconception of this question contradicts."""
        return self.key_points[misconception.point - 1]

    @property
    def family_key(self) -> str:
        """Paraphrases share a family; a question without one is its own family."""
        return self.family or self.id


class Pack(BaseModel):
    """The top level of a pack file."""

    model_config = ConfigDict(extra="forbid")

    topics: dict[str, str] = {}
    questions: list[Question]



@dataclass(frozen=True)
class Bank:
    """Every loaded question, by id, with the topics they may use."""

    questions: dict[str, Question]
    topics: dict[str, str]

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions.values())

    def __len__(self) -> int:
        return len(self.questions)

    def get(self, question_id: str) -> Question | None:
        return self.questions.get(question_id)

    def open_questions(self) -> list[Question]:
        return [q for q in self if q.type == "open"]


def pack_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their `*.yaml`/`*.yml` files, sorted so loading is deterministic."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(pack)"


def _parse_file(path: Path, problems: list[str]) -> Pack | None:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_PACK_BYTES + 1)  # never more, whatever the file claims
        if len(data) > MAX_PACK_BYTES:
            problems.append(
                f"{path}: the file is larger than {MAX_PACK_BYTES // (1024 * 1024)} MB, the "
                "limit for a pack; split it into several files"
            )
            return None
        raw = yaml.load(data.decode("utf-8"), Loader=YAML_LOADER)  # a safe loader (YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot read YAML: {exc}")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{path}: a pack is a mapping with a `questions` list")
        return None
    questions = raw.get("questions")
    if not isinstance(questions, list):
        problems.append(f"{path}: field `questions`: a list of questions is required")
        return None
    try:
        return Pack.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            qid = "(pack)"
            field = _field_path(loc)
            if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
                item = questions[loc[1]] if loc[1] < len(questions) else None
                qid = (
                    str(item.get("id", f"#{loc[1] + 1}"))
                    if isinstance(item, dict)
                    else f"#{loc[1] + 1}"
                )
                field = _field_path(loc[2:])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{path}: question {qid}: field {field}: {msg}")
        return None


def read_retired(folder: Path) -> dict[str, Path]:
    """The ids listed in `folder`'s retired-ids file (none when there is no such file)."""
    path = folder / RETIRED_FILE
    if not path.is_file():
        return {}
    ids = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {qid: path for qid in ids if qid}


def _is_shipped(path: Path, shipped: Path) -> bool:
    return path.resolve().parent == shipped.resolve()


def _shipped_rules(path: Path, q: Question) -> list[str]:
    """The shipped bank's stricter rubric rules (docs: "Question packs"); team packs are free."""
    if q.type != "open":
        return []
    problems = []
    central = [kp for kp in q.key_points if kp.weight == CENTRAL_WEIGHT]
    others = {kp.weight for kp in q.key_points if kp.weight != CENTRAL_WEIGHT} - {1.0}
    if len(central) != 1:
        problems.append(
            f"{path}: question {q.id}: field key_points: the shipped bank needs exactly one "
            f"key point with weight: 2 (the central point), has {len(central)}"
        )
    if others:
        problems.append(
            f"{path}: question {q.id}: field key_points: the shipped bank weighs key points 1 "
            f"or 2, found {', '.join(f'{w:g}' for w in sorted(others))}"
        )
    if not q.follow_ups:
        problems.append(
            f"{path}: question {q.id}: field follow_ups: the shipped bank has 1-3 follow-ups"
        )
    if not 1 <= len(q.misconceptions) <= 3:
        problems.append(
            f"{path}: question {q.id}: field misconceptions: the shipped bank lists 1-3, has "
            f"{len(q.misconceptions)}"
        )
    elif len(central) == 1 and q.contradicted(q.misconceptions[0]) != central[0]:
        problems.append(
            f"{path}: question {q.id}: field misconceptions: the first one must contradict the "
            "central (weight: 2) key point"
        )
    return problems


def load_bank(paths: Iterable[Path], *, shipped: Path = SHIPPED_PACKS) -> Bank:
    """Load and check every pack under `paths`; raise PackError listing all problems.

    Files in the `shipped` folder also obey the shipped bank's rubric rules. Ids retired in the
    shipped folder, or in any loaded folder, are refused in every pack.
    """
    problems: list[str] = []
    questions: dict[str, Question] = {}
    where: dict[str, Path] = {}
    topics = dict(BUILTIN_TOPICS)
    paths = list(paths)
    files = pack_files(paths)
    if not files:
        raise PackError([f"no question packs found in {', '.join(map(str, paths))}"])
    retired = read_retired(shipped)
    for folder in {p if p.is_dir() else p.parent for p in paths}:
        retired.update(read_retired(folder))
    loaded: list[tuple[Path, Pack]] = []
    for path in files:
        pack = _parse_file(path, problems)
        if pack is not None:
            loaded.append((path, pack))
            topics.update(pack.topics)
    for path, pack in loaded:
        for q in pack.questions:
            if q.id in questions:
                problems.append(f"{path}: question {q.id}: field id: duplicate of {where[q.id]}")
                continue
            if q.id in retired:
                problems.append(
                    f"{path}: question {q.id}: field id: the id is retired (listed in "
                    f"{retired[q.id]}); stored answers point at it, so choose a new id"
                )
            if _is_shipped(path, shipped):
                problems.extend(_shipped_rules(path, q))
            if q.topic not in topics:
                problems.append(
                    f"{path}: question {q.id}: field topic: unknown topic {q.topic!r} "
                    "(declare it in the pack's `topics`)"
                )
            questions[q.id] = q
            where[q.id] = path
    if problems:
        raise PackError(problems)
    return Bank(questions=questions, topics=topics)


def pack_json_schema() -> str:
    """A JSON Schema of the pack format, for editors (yaml-language-server)."""
    return json.dumps(Pack.model_json_schema(), indent=2)
