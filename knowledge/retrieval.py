"""Hybrid retrieval: dense + BM25 fused by weighted reciprocal rank, then document-aware.

1. The dense index and the BM25 index each return their top ``candidates`` chunks.
2. Weighted reciprocal-rank fusion: ``sum_r w_r / (rrf_k + rank_r)``.
3. Document-aware rescoring: a chunk also earns a share of its document's evidence (the
   fused scores of the document's other candidate chunks), because a passage in a
   document that matches the question in many places is more likely the right one
   than an isolated lucky match. ``doc_weight`` = 0 turns this off.
4. The top ``k`` are hydrated from the registry (the source of truth).

The defaults were chosen with ``kdt-tutor eval retrieval`` (see bench/RESULTS.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from knowledge.chunking import doc_id_of
from knowledge.lexical import LexicalIndex, Tokenizer
from knowledge.types import Chunk, ScoredChunk, SearchFilter
from knowledge.vectorstore import VectorIndex


@dataclass(frozen=True)
class FusionParams:
    candidates: int = 50
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    doc_weight: float = 0.5


def fuse(
    ranked: dict[str, list[str]], *, weights: dict[str, float], rrf_k: float
) -> dict[str, float]:
    """Weighted reciprocal-rank fusion of several ranked id lists."""
    scores: dict[str, float] = defaultdict(float)
    for name, ids in ranked.items():
        w = weights.get(name, 1.0)
        for rank, cid in enumerate(ids, start=1):
            scores[cid] += w / (rrf_k + rank)
    return dict(scores)


def document_rescore(
    scores: dict[str, float], doc_of: dict[str, str], *, doc_weight: float
) -> dict[str, float]:
    """Add to each chunk ``doc_weight`` x the summed scores of its document's other chunks."""
    if doc_weight == 0:
        return scores
    per_doc: dict[str, float] = defaultdict(float)
    for cid, s in scores.items():
        per_doc[doc_of.get(cid, cid)] += s
    return {
        cid: s + doc_weight * (per_doc[doc_of.get(cid, cid)] - s) for cid, s in scores.items()
    }


class HybridRetriever:
    """Searches both indexes and fuses them. Stateless apart from its collaborators."""

    def __init__(
        self,
        *,
        embed_query: Callable[[str], np.ndarray],
        vectors: VectorIndex,
        lexical: LexicalIndex,
        tokenizer: Tokenizer,
        hydrate: Callable[[list[str]], dict[str, Chunk]],
        params: FusionParams | None = None,
    ) -> None:
        self._embed_query = embed_query
        self._vectors = vectors
        self._lexical = lexical
        self._tokenizer = tokenizer
        self._hydrate = hydrate
        self.params = params or FusionParams()

    def search(
        self, query: str, *, k: int = 5, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        p = self.params
        n = max(p.candidates, k)
        dense = [cid for cid, _ in self._vectors.search(self._embed_query(query), k=n, where=where)]
        lexical = [
            cid for cid, _ in self._lexical.search(self._tokenizer.tokenize(query), k=n, where=where)
        ]
        ranked = {"dense": dense, "lexical": lexical}
        fused = fuse(
            ranked, weights={"dense": p.dense_weight, "lexical": p.lexical_weight}, rrf_k=p.rrf_k
        )
        fused = document_rescore(
            fused, {cid: doc_id_of(cid) for cid in fused}, doc_weight=p.doc_weight
        )
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        ranks = {name: {cid: i for i, cid in enumerate(ids, start=1)} for name, ids in ranked.items()}
        # Hydrate a few spares: an id may vanish between index and registry during an ingest.
        top = order[: k + 10]
        chunks = self._hydrate(top)
        results = []
        for cid in top:
            chunk = chunks.get(cid)
            if chunk is None or (where is not None and not where.accepts(chunk)):
                continue
            results.append(
                ScoredChunk(
                    chunk=chunk,
                    score=fused[cid],
                    ranks={name: r[cid] for name, r in ranks.items() if cid in r},
                )
            )
            if len(results) == k:
                break
        return results
