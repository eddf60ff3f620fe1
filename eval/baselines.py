"""Named baselines that benchmarks run beside ours, in the same process and data.

- ``langchain-default``: RecursiveCharacterTextSplitter(1000, 200) + Chroma + all-MiniLM-L6-v2,
  dense top-k: the pipeline most LangChain tutorials build.
- ``bm25``: plain BM25 (bm25s' own English tokenizer and stop words) over the same chunks.

Each baseline ranks source ids (lesson ids) for a question. This module is an adapter:
it imports langchain-chroma and chromadb for the baseline only.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from knowledge.embeddings import build_embeddings


def _split(sources: dict[str, str]) -> tuple[list[str], list[str]]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts, owners = [], []
    for source_id, text in sources.items():
        for piece in splitter.split_text(text):
            texts.append(piece)
            owners.append(source_id)
    return texts, owners


class LangChainDefaultRetriever:
    """The LangChain default pipeline over ``{source_id: text}``."""

    name = "langchain-default"

    def __init__(self, sources: dict[str, str], *, k: int = 30) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        texts, owners = _split(sources)
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self._store = Chroma(
            collection_name=f"baseline-{uuid.uuid4().hex[:8]}",
            embedding_function=build_embeddings("minilm"),
            client=client,
        )
        self._store.add_texts(texts, metadatas=[{"source": o} for o in owners])
        self.k = k
        self.chunks = len(texts)

    def rank(self, question: str) -> list[str]:
        docs = self._store.similarity_search(question, k=self.k)
        return [d.metadata["source"] for d in docs]


class PlainBM25Retriever:
    """Plain BM25 over the same 1000/200 chunks, English tokenizer with stop words."""

    name = "bm25"

    def __init__(self, sources: dict[str, str], *, k: int = 30) -> None:
        import bm25s

        texts, self._owners = _split(sources)
        self._bm25 = bm25s.BM25()
        self._bm25.index(
            bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False
        )
        self._tokenize = lambda q: bm25s.tokenize([q], stopwords="en", show_progress=False)
        self.k = min(k, len(texts))
        self.chunks = len(texts)

    def rank(self, question: str) -> list[str]:
        results, _scores = self._bm25.retrieve(
            self._tokenize(question), k=self.k, show_progress=False
        )
        return [self._owners[int(i)] for i in results[0]]


def read_sources(folder: Path) -> dict[str, str]:
    """``{file stem: text}`` for every Markdown file of a lessons folder."""
    return {
        p.stem: p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.md"))
    }
