"""Sentence evidence: how well the best single sentence of a chunk matches the question.

A chunk's embedding averages ~900 characters; a question usually asks about one sentence
of it. Each chunk's sentences (lines, split again after ``.``, ``!``, ``?``, ``。``; pieces
shorter than ``MIN_CHARS`` dropped) are embedded once at ingest with the multilingual USE
model and kept in the registry beside the chunk (float16). A search scores the chunks it
already has as candidates by their best sentence's cosine to the question, and that
becomes a third signal of the fusion (``knowledge.retrieval``).

On the course benchmark this signal, at the same weight as the other two, raised hit@1 on
all three sets (ML-For-Beginners English lessons 0.756 -> 0.769, Korean lessons 0.632 ->
0.667, python-basics 0.881 -> 0.915; bench/RESULTS.md, "Sentence evidence").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

# Bump whenever the split or the model changes: stored vectors of another version are
# recomputed by ``kb check --repair`` (and at the end of every ingest).
VERSION = 1
MIN_CHARS = 15

_SPLIT = re.compile(r"\n+|(?<=[.!?\u3002])\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of a chunk's text, in order (lines; sentences within a line)."""
    pieces = (p.strip() for p in _SPLIT.split(text))
    return [p for p in pieces if len(p) >= MIN_CHARS]


def embed_sentences(
    texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]
) -> list[np.ndarray]:
    """One float16 matrix (sentences x dim, L2-normalised rows) per text.

    Each distinct sentence is embedded once, however many texts hold it, shortest first:
    a batch of similar lengths wastes little on padding (USE, 1,500 course sentences in
    batches of 64: ~14 s sorted, ~40 s in text order, on 2 busy cores). A text without a
    sentence gets a 0-row matrix.
    """
    split = [split_sentences(t) for t in texts]
    unique = sorted(dict.fromkeys(s for sentences in split for s in sentences), key=len)
    if not unique:
        return [np.zeros((0, 0), dtype=np.float16) for _ in texts]
    vectors = np.asarray(embed(unique), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors = vectors.astype(np.float16)
    row = {s: i for i, s in enumerate(unique)}
    return [vectors[[row[s] for s in sentences]] for sentences in split]


def to_bytes(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype="<f2").tobytes()


def from_bytes(blob: bytes, dim: int) -> np.ndarray:
    if not blob or dim <= 0:
        return np.zeros((0, max(dim, 0)), dtype=np.float16)
    return np.frombuffer(blob, dtype="<f2").reshape(-1, dim)


def best_sentence_scores(
    query: np.ndarray, vectors: dict[str, np.ndarray]
) -> list[tuple[str, float]]:
    """``(chunk_id, best sentence cosine)``, best first, for each chunk with sentences."""
    q = np.asarray(query, dtype=np.float32)
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    ids = [cid for cid, m in vectors.items() if len(m) and m.shape[1] == q.shape[0]]
    if not ids:
        return []
    stacked = np.vstack([vectors[cid] for cid in ids]).astype(np.float32)
    sims = stacked @ q
    bounds = np.cumsum([0, *(len(vectors[cid]) for cid in ids)])
    best = np.maximum.reduceat(sims, bounds[:-1])
    order = np.argsort(-best, kind="stable")
    return [(ids[i], float(best[i])) for i in order]
