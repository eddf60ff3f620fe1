"""Vector index: our small ``VectorIndex`` interface and its Chroma implementations.

Only this module imports chromadb. Embeddings are always computed by us and passed in
explicitly (Chroma's default embedding function downloads a model; it is never used).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

from knowledge.errors import ConfigError, ProviderUnavailableError
from knowledge.types import Chunk, SearchFilter


class VectorIndex(Protocol):
    """Dense index of chunk vectors. Implementations: embedded Chroma, Chroma server."""

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace these chunks (by id) with their vectors."""

    def search(
        self,
        vector: np.ndarray,
        *,
        k: int,
        where: SearchFilter | None = None,
        accepts: Callable[[list[str]], list[bool]] | None = None,
    ) -> list[tuple[str, float]]:
        """Top-k (chunk_id, cosine similarity) among chunks the filter accepts.

        ``accepts``, when given, tells for a list of chunk ids whether ``where`` accepts
        each (from metadata the caller holds in memory); the index may use it instead of
        its stored metadata. It must agree with ``where``.
        """

    def delete(self, *, chunk_ids: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> None:
        """Remove chunks by id and/or every chunk of the given documents."""

    def ids(self) -> dict[str, str]:
        """Every stored chunk id mapped to its document id (for consistency checks)."""

    def reset(self) -> None:
        """Drop every vector (used by repair and by tests)."""


def _metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "doc_id": chunk.doc_id,
        "course": chunk.course,
        "kind": chunk.kind,
        "lang": chunk.lang,
        "level": -1 if chunk.level is None else chunk.level,
        "exercise": chunk.exercise or "",
    }


def _accepts(meta: dict, where: SearchFilter) -> bool:
    """``where`` applied to a vector's stored metadata (the same rules as ``_where``)."""
    if meta.get("kind") not in where.allowed_kinds():
        return False
    if where.course is not None and meta.get("course") != where.course:
        return False
    if where.lang is not None and meta.get("lang") != where.lang:
        return False
    if where.exercise is not None and meta.get("exercise") != where.exercise:
        return False
    if where.doc_ids is not None and meta.get("doc_id") not in where.doc_ids:
        return False
    level = meta.get("level", -1)
    if level != -1:
        if where.level_min is not None and level < where.level_min:
            return False
        if where.level_max is not None and level > where.level_max:
            return False
    return True


def _where(where: SearchFilter | None) -> dict | None:
    """Translate our filter into Chroma's ``where`` language."""
    if where is None:
        return None
    clauses: list[dict] = [{"kind": {"$in": list(where.allowed_kinds())}}]
    if where.course is not None:
        clauses.append({"course": where.course})
    if where.lang is not None:
        clauses.append({"lang": where.lang})
    if where.exercise is not None:
        clauses.append({"exercise": where.exercise})
    if where.doc_ids is not None:
        clauses.append({"doc_id": {"$in": sorted(where.doc_ids)}})
    if where.level_min is not None:
        clauses.append({"$or": [{"level": {"$gte": where.level_min}}, {"level": -1}]})
    if where.level_max is not None:
        clauses.append({"level": {"$lte": where.level_max}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaVectorIndex:
    """``VectorIndex`` over a Chroma collection (cosine space), embedded or remote."""

    _BATCH = 2000

    def __init__(self, client, collection: str) -> None:
        if len(collection) < 3:
            raise ConfigError("Chroma collection names need at least 3 characters")
        self._client = client
        self._name = collection
        self._collection = self._open()

    def _open(self):
        try:
            return self._client.get_or_create_collection(
                self._name,
                embedding_function=None,  # we always pass vectors; never Chroma's default
                configuration={"hnsw": {"space": "cosine", "ef_search": 100}},
            )
        except Exception as exc:
            raise ProviderUnavailableError(f"Chroma is unavailable: {exc}") from exc

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        for i in range(0, len(chunks), self._BATCH):
            part = chunks[i : i + self._BATCH]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[i : i + self._BATCH], dtype=np.float32),
                metadatas=[_metadata(c) for c in part],
            )

    def search(
        self,
        vector: np.ndarray,
        *,
        k: int,
        where: SearchFilter | None = None,
        accepts: Callable[[list[str]], list[bool]] | None = None,
    ) -> list[tuple[str, float]]:
        """Nearest chunks under ``where``.

        Chroma's metadata-filtered query costs ~100 ms at 20k vectors here, an unfiltered
        one a few ms. So: ask for ``4 k`` (at least 200) unfiltered, keep those the filter
        accepts, and only when fewer than ``k`` survive a selective filter, pay for
        Chroma's filtered query. Whether the filter accepts a candidate comes from
        ``accepts`` when given, else from the metadata Chroma returns with it (reading it
        back costs ~10 ms for 400 candidates at 20k vectors, 3x the query itself).
        """
        if k <= 0 or (where is not None and where.matches_nothing()):
            return []  # Chroma rejects an empty "$in": no allowed kind or document, no result
        if where is None:
            return [(cid, s) for cid, s, _ in self._query(vector, k=k, where=None)]
        wide_k = max(4 * k, 200)
        wide = self._query(vector, k=wide_k, where=None, metadata=accepts is None)
        if accepts is None:
            kept = [(cid, s) for cid, s, meta in wide if _accepts(meta, where)]
        else:
            flags = accepts([cid for cid, _, _ in wide])
            kept = [(cid, s) for (cid, s, _), ok in zip(wide, flags, strict=True) if ok]
        if len(kept) >= k or len(wide) < wide_k:  # enough, or the whole collection was seen
            return kept[:k]
        return [(cid, s) for cid, s, _ in self._query(vector, k=k, where=_where(where))]

    def _query(self, vector: np.ndarray, *, k: int, where: dict | None, metadata: bool = True):
        try:
            result = self._collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=k,
                where=where,
                include=["distances", "metadatas"] if metadata else ["distances"],
            )
        except Exception as exc:
            if "Number of requested results" in str(exc):
                return []
            raise ProviderUnavailableError(f"Chroma query failed: {exc}") from exc
        ids = result["ids"][0]
        distances = result["distances"][0]
        metas = (result.get("metadatas") or [None])[0] or [{}] * len(ids)
        return [
            (cid, 1.0 - float(d), m or {})
            for cid, d, m in zip(ids, distances, metas, strict=True)
        ]

    def delete(self, *, chunk_ids: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> None:
        if chunk_ids:
            for i in range(0, len(chunk_ids), self._BATCH):
                self._collection.delete(ids=list(chunk_ids[i : i + self._BATCH]))
        if doc_ids:
            self._collection.delete(where={"doc_id": {"$in": list(doc_ids)}})

    def ids(self) -> dict[str, str]:
        out: dict[str, str] = {}
        total = self._collection.count()
        for offset in range(0, total, 10_000):
            page = self._collection.get(include=["metadatas"], limit=10_000, offset=offset)
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                out[cid] = str((meta or {}).get("doc_id", ""))
        return out

    def reset(self) -> None:
        try:
            self._client.delete_collection(self._name)
        except Exception:  # absent already
            pass
        self._collection = self._open()


def build_vector_index(*, chroma_url: str | None, kb_dir: Path, collection: str) -> VectorIndex:
    """Embedded Chroma under ``kb_dir/chroma`` by default; a Chroma server when a URL is set."""
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as exc:  # pragma: no cover - chromadb is a core dependency
        raise ConfigError("the vector index needs the chromadb package") from exc
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"KDT_CHROMA_URL must be an http(s) URL, got {chroma_url!r}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise ProviderUnavailableError(f"cannot reach Chroma at {chroma_url}: {exc}") from exc
    else:
        path = kb_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    return ChromaVectorIndex(client, collection)


def chroma_heartbeat(chroma_url: str, *, timeout_s: float) -> None:
    """Ask a Chroma server whether it is up (``GET /api/v2/heartbeat``, one try within
    ``timeout_s``); ``ProviderUnavailableError`` when it is not. For health checks: it
    costs one small request, unlike anything that touches a collection."""
    import httpx

    url = urlparse(chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"KDT_CHROMA_URL must be an http(s) URL, got {chroma_url!r}")
    try:
        response = httpx.get(f"{chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ProviderUnavailableError(
            f"Chroma at {chroma_url} did not answer: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise ProviderUnavailableError(
            f"Chroma at {chroma_url} answered HTTP {response.status_code}"
        )
