"""Named baselines that benchmarks run beside ours, in the same process and data.

- ``langchain-default``: RecursiveCharacterTextSplitter(1000, 200) + Chroma + all-MiniLM-L6-v2,
  dense top-k: the pipeline most LangChain tutorials build.
- ``bm25``: plain BM25 (bm25s' own English tokenizer and stop words) over the same chunks.
- ``naive`` multiple choice (``NaiveOptionPicker``): for each option, embed
  "question + option" with all-MiniLM-L6-v2 and take its best cosine to the sentences of
  the passages (the LangChain default top-5); pick the best option.

Each retrieval baseline ranks source ids (lesson ids) for a question. This module is an adapter:
it imports langchain-chroma and chromadb for the baseline only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from knowledge.embeddings import build_embeddings

# Sentence boundaries for the naive picker: a line break, or . ! ? followed by a blank.
_NAIVE_SENTENCE_END = re.compile(r"\n+|(?<=[.!?])\s+")
_NAIVE_MIN_CHARS = 3  # shorter pieces (list bullets, stray symbols) are dropped


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
    """The LangChain default pipeline over ``{source_id: text}``.

    ``embeddings`` (default: a new all-MiniLM-L6-v2) lets a benchmark share the MiniLM
    model its knowledge base already loaded. A question's embedding is computed once and
    reused by ``rank`` and ``texts`` (``similarity_search`` would embed it for each call);
    ``prefetch`` embeds many questions in one batch.
    """

    name = "langchain-default"

    def __init__(self, sources: dict[str, str], *, k: int = 30, embeddings=None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        texts, owners = _split(sources)
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self._embeddings = embeddings or build_embeddings("minilm")
        self._store = Chroma(
            collection_name=f"baseline-{uuid.uuid4().hex[:8]}",
            embedding_function=self._embeddings,
            client=client,
        )
        self._store.add_texts(texts, metadatas=[{"source": o} for o in owners])
        self._queries: dict[str, list[float]] = {}
        self.k = k
        self.chunks = len(texts)

    def prefetch(self, questions: Iterable[str]) -> None:
        """Embed the questions not seen yet, in one batch."""
        missing = [q for q in dict.fromkeys(questions) if q not in self._queries]
        if missing:
            vectors = self._embeddings.embed_documents(missing)
            self._queries.update(zip(missing, vectors, strict=True))

    def _query_vector(self, question: str) -> list[float]:
        vector = self._queries.get(question)
        if vector is None:
            vector = self._queries[question] = self._embeddings.embed_query(question)
        return vector

    def rank(self, question: str) -> list[str]:
        docs = self._store.similarity_search_by_vector(self._query_vector(question), k=self.k)
        return [d.metadata["source"] for d in docs]

    def texts(self, question: str, k: int = 5) -> list[str]:
        """The text of the top-``k`` chunks for ``question`` (what a LangChain RAG chain
        would put in its prompt)."""
        docs = self._store.similarity_search_by_vector(self._query_vector(question), k=k)
        return [d.page_content for d in docs]


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


class NaiveOptionPicker:
    """The naive multiple-choice baseline: the option whose "question + option" statement
    is closest (all-MiniLM-L6-v2 cosine) to some sentence of the passages.

    ``embed`` (a list of texts -> normalised matrix) defaults to MiniLM; vectors of
    sentences and statements are remembered across questions (the same chunks come back
    often), and ``prefetch`` embeds what many questions need in one batch: batched by
    length, short sentences are not padded to the longest one of a question.
    """

    name = "naive"

    def __init__(self, embed=None) -> None:
        self._embed = embed or build_embeddings("minilm").embed_array
        self._vectors: dict[str, np.ndarray] = {}

    def _matrix(self, texts: list[str]) -> np.ndarray:
        self._remember(texts)
        return np.vstack([self._vectors[t] for t in texts])

    def _remember(self, texts: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self._embed(missing), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)

    @staticmethod
    def _sentences(texts: list[str]) -> list[str]:
        return [
            piece.strip()
            for text in texts
            for piece in _NAIVE_SENTENCE_END.split(text)
            if len(piece.strip()) >= _NAIVE_MIN_CHARS
        ]

    @staticmethod
    def _statements(question: str, options: Sequence[str]) -> list[str]:
        return [f"{question} {o}" for o in options]

    def prefetch(self, questions: Iterable[tuple[str, Sequence[str], list[str]]]) -> None:
        """Embed, in one batch, what ``scores`` will need for these ``(question, options,
        texts)``."""
        needed: list[str] = []
        for question, options, texts in questions:
            sentences = self._sentences(texts)
            if sentences and options:
                needed += self._statements(question, options) + sentences
        self._remember(needed)

    def scores(self, question: str, options: Sequence[str], texts: list[str]) -> list[float]:
        """Each option's best cosine to a passage sentence (0.0 for every option without
        passages)."""
        sentences = self._sentences(texts)
        if not sentences or not options:
            return [0.0] * len(options)
        statements = self._matrix(self._statements(question, options))
        cosines = statements @ self._matrix(sentences).T
        return [float(row.max()) for row in cosines]

    def pick_from_texts(self, question: str, options: Sequence[str], texts: list[str]) -> int:
        """The index of the best-supported option (the first one on a tie)."""
        scores = self.scores(question, options, texts)
        return int(np.argmax(scores)) if scores else 0


def read_sources(folder: Path) -> dict[str, str]:
    """``{file stem: text}`` for every Markdown file of a lessons folder."""
    return {
        p.stem: p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.md"))
    }
