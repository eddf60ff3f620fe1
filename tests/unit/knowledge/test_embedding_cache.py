"""CachedEmbedding: same vectors as the model, each text embedded once, bounded memory."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from knowledge.embeddings import CachedEmbedding
from knowledge.errors import ConfigError


def test_cached_vectors_equal_the_models_and_each_text_is_embedded_once(counting_embeddings):
    cache = CachedEmbedding(counting_embeddings, max_entries=100)
    texts = ["리스트는 순서가 있는 자료형입니다.", "A tuple cannot be changed.", "dict keys"]
    first = cache.embed_array(texts)
    again = cache.embed_array([texts[2], texts[0], "a new sentence"])
    direct = counting_embeddings.inner.embed_array([*texts, "a new sentence"])
    np.testing.assert_allclose(first, direct[:3], atol=1e-6)
    np.testing.assert_allclose(again, direct[[2, 0, 3]], atol=1e-6)
    assert counting_embeddings.texts == [*texts, "a new sentence"]
    assert (cache.hits, cache.misses) == (2, 4)


def test_duplicates_in_one_call_are_embedded_once(counting_embeddings):
    cache = CachedEmbedding(counting_embeddings)
    out = cache.embed_array(["same", "same", "other"])
    assert counting_embeddings.texts == ["same", "other"]
    np.testing.assert_allclose(out[0], out[1])


def test_least_recently_used_text_is_evicted(counting_embeddings):
    cache = CachedEmbedding(counting_embeddings, max_entries=2)
    cache.embed_array(["a1", "b2"])
    cache.embed_array(["a1"])  # a1 is now the most recent
    cache.embed_array(["c3"])  # evicts b2
    assert len(cache) == 2
    counting_embeddings.texts.clear()
    cache.embed_array(["a1", "c3", "b2"])
    assert counting_embeddings.texts == ["b2"]


def test_returned_rows_are_copies(counting_embeddings):
    cache = CachedEmbedding(counting_embeddings)
    out = cache.embed_array(["mutable"])
    out[:] = 0.0
    assert float(np.abs(cache.embed_array(["mutable"])).sum()) > 0.0


def test_empty_input_and_bad_size(counting_embeddings):
    assert CachedEmbedding(counting_embeddings).embed_array([]).shape == (
        0,
        counting_embeddings.dimension,
    )
    with pytest.raises(ConfigError):
        CachedEmbedding(counting_embeddings, max_entries=0)


def test_concurrent_callers_get_consistent_vectors(counting_embeddings):
    cache = CachedEmbedding(counting_embeddings, max_entries=50)
    texts = [f"sentence number {i}" for i in range(30)]
    expected = counting_embeddings.inner.embed_array(texts)
    errors: list[str] = []

    def worker(offset: int) -> None:
        order = texts[offset:] + texts[:offset]
        got = cache.embed_array(order)
        if not np.allclose(got, np.roll(expected, -offset, axis=0), atol=1e-6):
            errors.append(f"offset {offset}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) == 30
