"""Queries embedded through the ONNX Runtime export of MiniLM give torch's vectors: the real
export (torch.onnx from the installed weights), the real runtime, cached on disk once."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings import SentenceTransformerEmbeddings, build_embeddings
from tutor.settings import Settings

TEXTS = [
    "What is the difference between a list and a tuple?",
    "리스트를 정렬하는 방법은 무엇인가요?",
    "train_test_split",
    "  padded   with  spaces ",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_minilm() -> SentenceTransformerEmbeddings:
    return build_embeddings("minilm")


@pytest.fixture(scope="module")
def onnx_minilm(cache_dir) -> SentenceTransformerEmbeddings:
    return build_embeddings("minilm", onnx_cache_dir=cache_dir)


def test_query_vectors_match_torch_one_by_one_and_in_a_padded_batch(
    onnx_minilm, torch_minilm, cache_dir
) -> None:
    expected = torch_minilm.embed_array(TEXTS)

    batch = onnx_minilm.embed_array(TEXTS)  # 4 texts of different lengths: padding is masked
    single = np.vstack([onnx_minilm.embed_array([t]) for t in TEXTS])

    assert onnx_minilm._onnx_encoder() is not None  # the ONNX path ran, not torch
    assert batch.dtype == np.float32 and batch.shape == expected.shape
    assert np.abs(batch - expected).max() < 1e-5
    assert np.abs(single - expected).max() < 1e-5
    assert len(list(cache_dir.glob("st-*.onnx"))) == 1


def test_the_export_is_reused_by_the_next_process(onnx_minilm, cache_dir) -> None:
    onnx_minilm.embed_array(["warm"])
    (exported,) = cache_dir.glob("st-*.onnx")
    stamp = exported.stat().st_mtime_ns

    other = build_embeddings("minilm", onnx_cache_dir=cache_dir)
    vector = other.embed_array(["warm"])

    assert other._onnx_encoder() is not None
    assert exported.stat().st_mtime_ns == stamp  # loaded, not exported again
    assert np.allclose(vector, onnx_minilm.embed_array(["warm"]), atol=1e-6)


def test_batches_stay_in_torch(onnx_minilm, torch_minilm) -> None:
    texts = [f"sentence number {i} about loops" for i in range(12)]

    assert np.abs(onnx_minilm.embed_array(texts) - torch_minilm.embed_array(texts)).max() < 1e-5


def test_concurrent_queries_get_their_own_vectors(onnx_minilm, torch_minilm) -> None:
    expected = {t: torch_minilm.embed_array([t])[0] for t in TEXTS}
    results: dict[int, tuple[str, np.ndarray]] = {}
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        text = TEXTS[i % len(TEXTS)]
        try:
            results[i] = (text, onnx_minilm.embed_array([text])[0])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(results) == 16
    for text, vector in results.values():
        assert np.abs(vector - expected[text]).max() < 1e-5


def test_a_corrupt_cached_export_falls_back_to_torch_with_a_warning(
    tmp_path, cache_dir, torch_minilm, caplog
) -> None:
    (good,) = cache_dir.glob("st-*.onnx")
    (tmp_path / good.name).write_bytes(b"not an onnx model")
    broken = build_embeddings("minilm", onnx_cache_dir=tmp_path)

    with caplog.at_level(logging.WARNING, logger="knowledge.onnx_encoder"):
        vector = broken.embed_array([TEXTS[0]])

    assert broken._onnx_encoder() is None
    assert "torch is used" in caplog.text
    assert np.abs(vector - torch_minilm.embed_array([TEXTS[0]])).max() < 1e-6


def test_settings_turn_onnx_queries_on_by_default_and_off_by_flag(tmp_path) -> None:
    on = Settings(data_dir=tmp_path, model_cache_dir=tmp_path / "models").knowledge_config()
    off = Settings(data_dir=tmp_path, onnx_queries=False).knowledge_config()

    assert on.onnx_cache_dir == tmp_path / "models" / "onnx"
    assert off.onnx_cache_dir is None
