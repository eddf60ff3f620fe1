"""Plain configuration values for the knowledge layer (built from ``tutor.settings.Settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnowledgeConfig:
    data_dir: Path
    database_url: str
    chroma_url: str | None = None
    collection: str = "kdt_chunks"
    embedding: str = "hybrid"
    chunk_size: int = 900
    max_file_bytes: int = 20 * 1024 * 1024
    # Where sentence-transformers models cache their ONNX export for fast queries; None:
    # queries run in torch.
    onnx_cache_dir: Path | None = None
    # Weight of sentence evidence in the fusion (``knowledge.sentences``); 0 turns it off and
    # ingest then embeds no sentences.
    sentence_weight: float = 1.0

    @property
    def kb_dir(self) -> Path:
        """Where derived index files live (embedded Chroma, the BM25 cache)."""
        return self.data_dir / "kb"
