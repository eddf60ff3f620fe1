"""Hybrid retrieval: dense + BM25 fused on standardised scores, then document-aware.

1. The dense index and the BM25 index each return their top ``candidates`` chunks.
2. Score fusion: each retriever's scores are standardised (z-scores over its candidate
   list) and summed with weights. Cosines and BM25 scores live on different scales and
   their spread differs from query to query; z-scores make them comparable while keeping
   *how much* better a chunk is than the rest, which rank fusion (RRF) throws away. A
   chunk missing from one list gets the score it would have there at most: the dense
   list's lowest, or BM25's 0 (BM25's list is padded with the zeros it left out, so a
   query matching three chunks does not make the third look average).
   Sentence evidence (``knowledge.sentences``) is a third signal over the same candidates:
   each candidate's best sentence cosine to the question, z-scored like the others (a
   candidate without stored sentences gets the list's lowest).
3. Document evidence: a chunk earns ``doc_weight`` x the positive fused scores of the two
   best *other* chunks of its document. A lesson that matches the question in several
   places is more likely the right one than an isolated lucky match, but only a few
   chunks count, so a long document does not win by its length (summing every chunk's
   score did: it cost 0.17 hit@1 on the course benchmark). The best chunk of a document
   still ranks first among that document's chunks.
4. The top ``k`` are hydrated from the registry (the source of truth).

The defaults were chosen with ``kdt-tutor eval retrieval`` on English and Korean lessons
(see bench/RESULTS.md): z-score fusion matched rank fusion at 900-character chunks and
held up better at larger chunks and on Korean lessons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from knowledge.chunking import doc_id_of
from knowledge.lexical import LexicalIndex, Tokenizer
from knowledge.sentences import best_sentence_scores
from knowledge.types import Chunk, ScoredChunk, SearchFilter
from knowledge.vectorstore import VectorIndex


@dataclass(frozen=True)
class FusionParams:
    """Fusion knobs. ``candidates``: chunks taken from each retriever; ``*_weight``: weights
    of the z-scored signals (``sentence_weight`` 0 turns sentence evidence off, and the
    knowledge base then stores no sentence vectors); ``doc_weight`` x the ``doc_chunks`` best
    other chunks of a chunk's document is added to its score (0 turns document evidence
    off)."""

    candidates: int = 100
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    sentence_weight: float = 1.0
    doc_weight: float = 0.25
    doc_chunks: int = 2


def fuse(
    lists: dict[str, list[tuple[str, float]]],
    *,
    weights: dict[str, float],
    pad: dict[str, tuple[int, float]] | None = None,
) -> dict[str, float]:
    """Weighted sum of z-scored retriever scores over the union of their candidates.

    ``lists`` maps a retriever to its ``(chunk_id, score)`` list. ``pad[name] = (n, value)``
    says the list is a top-``n`` whose missing entries all scored ``value`` (BM25: 0);
    without it a chunk absent from a list gets that list's lowest z-score.
    """
    pad = pad or {}
    members = {cid for items in lists.values() for cid, _ in items}
    fused: dict[str, float] = dict.fromkeys(members, 0.0)
    for name, items in lists.items():
        scores = [s for _, s in items]
        n, value = pad.get(name, (len(scores), None))
        if value is not None and n > len(scores):
            scores += [value] * (n - len(scores))
        if len(scores) < 2:
            continue
        values = np.asarray(scores, dtype=np.float64)
        mean, std = float(values.mean()), float(values.std())
        if std < 1e-9:
            continue
        z = {cid: (s - mean) / std for cid, s in items}
        floor = (value - mean) / std if value is not None else min(z.values())
        w = weights.get(name, 1.0)
        for cid in members:
            fused[cid] += w * z.get(cid, floor)
    return fused


def document_rescore(
    scores: dict[str, float], doc_of: dict[str, str], *, doc_weight: float, doc_chunks: int = 2
) -> dict[str, float]:
    """Add to each chunk ``doc_weight`` x the positive scores of the ``doc_chunks`` best
    other chunks of its document: document evidence that does not grow with length."""
    if doc_weight == 0 or doc_chunks <= 0:
        return scores
    per_doc: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for cid, s in scores.items():
        per_doc[doc_of.get(cid, cid)].append((s, cid))
    out: dict[str, float] = {}
    for entries in per_doc.values():
        entries.sort(key=lambda e: -e[0])
        best = [max(s, 0.0) for s, _ in entries[: doc_chunks + 1]]
        for i, (s, cid) in enumerate(entries):
            others = sum(best) - best[i] if i < len(best) else sum(best[:doc_chunks])
            out[cid] = s + doc_weight * others
    return out


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
        sentence_query: Callable[[str, np.ndarray], np.ndarray] | None = None,
        sentence_vectors: Callable[[list[str]], dict[str, np.ndarray]] | None = None,
    ) -> None:
        """``sentence_query(query, dense_vector)`` gives the query's vector in the sentence
        model's space; ``sentence_vectors(chunk_ids)`` the candidates' stored sentences.
        Without them (or with ``sentence_weight`` 0) there is no sentence evidence."""
        self._embed_query = embed_query
        self._sentence_query = sentence_query
        self._sentence_vectors = sentence_vectors
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
        vector = self._embed_query(query)
        lists = {
            "dense": self._vectors.search(
                vector,
                k=n,
                where=where,
                accepts=lambda ids: self._lexical.accepts(ids, where),
            ),
            "lexical": self._lexical.search(self._tokenizer.tokenize(query), k=n, where=where),
        }
        if p.sentence_weight and self._sentence_query and self._sentence_vectors:
            pool = list(dict.fromkeys(cid for items in lists.values() for cid, _ in items))
            if pool:
                lists["sentences"] = best_sentence_scores(
                    self._sentence_query(query, vector), self._sentence_vectors(pool)
                )
        fused = fuse(
            lists,
            weights={
                "dense": p.dense_weight,
                "lexical": p.lexical_weight,
                "sentences": p.sentence_weight,
            },
            pad={"lexical": (n, 0.0)},  # BM25 returns only chunks that match (score > 0)
        )
        fused = document_rescore(
            fused,
            {cid: doc_id_of(cid) for cid in fused},
            doc_weight=p.doc_weight,
            doc_chunks=p.doc_chunks,
        )
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        ranks = {
            name: {cid: i for i, (cid, _) in enumerate(items, start=1)}
            for name, items in lists.items()
        }
        raw = {name: dict(items) for name, items in lists.items()}
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
                    signals={name: s[cid] for name, s in raw.items() if cid in s},
                )
            )
            if len(results) == k:
                break
        return results
