"""Sentence evidence pieces: the splitter, batch embedding, storage bytes, best-sentence scores.

Expected values are worked out by hand from small vectors; the embedding function is a
recording stand-in that maps each text to a fixed vector, so what was embedded is visible.
"""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.sentences import (
    MIN_CHARS,
    best_sentence_scores,
    embed_sentences,
    from_bytes,
    split_sentences,
    to_bytes,
)


def test_split_keeps_lines_and_sentences_and_drops_short_pieces() -> None:
    text = (
        "# Lists\n"
        "A list holds items in order. It can grow and shrink again! "
        "Why would it? Pop removes one.\n"
        "\n"
        "ok.\n"
        "numbers = [1, 2, 3]  # a list literal\n"
        "리스트는 순서가 있는 자료형입니다. 항목을 추가할 수 있습니다."
    )

    assert split_sentences(text) == [
        "A list holds items in order.",
        "It can grow and shrink again!",
        "Pop removes one.",
        "numbers = [1, 2, 3]  # a list literal",
        "리스트는 순서가 있는 자료형입니다.",
        "항목을 추가할 수 있습니다.",
    ]


def test_split_drops_every_piece_under_the_minimum() -> None:
    assert split_sentences("Short one.\nTiny.\n" + "x" * (MIN_CHARS - 1)) == []
    assert split_sentences("x" * MIN_CHARS) == ["x" * MIN_CHARS]


class RecordingEmbed:
    """Maps a text to a fixed vector by its length; records every batch it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_embed_sentences_embeds_each_distinct_sentence_once_shortest_first() -> None:
    shared = "Shared sentence in both chunks."
    texts = [f"{shared} First chunk only here.", f"{shared}\nSecond chunk only here.", "tiny"]
    embed = RecordingEmbed()

    out = embed_sentences(texts, embed)

    assert embed.batches == [["First chunk only here.", "Second chunk only here.", shared]]
    assert [m.shape for m in out] == [(2, 3), (2, 3), (0, 3)]
    assert all(m.dtype == np.float16 for m in out)
    first = np.array([len(shared), 1.0, 0.0]) / np.hypot(len(shared), 1.0)
    assert out[0][0] == pytest.approx(first, abs=1e-3)
    assert np.array_equal(out[0][0], out[1][0])
    assert np.linalg.norm(out[1][1].astype(np.float32)) == pytest.approx(1.0, abs=1e-3)


def test_embed_sentences_without_any_sentence_calls_no_model() -> None:
    embed = RecordingEmbed()

    out = embed_sentences(["short", ""], embed)

    assert embed.batches == []
    assert [len(m) for m in out] == [0, 0]


def test_bytes_round_trip_and_empty_matrix() -> None:
    matrix = np.array([[0.5, -0.25], [1.0, 0.0], [0.0, 0.125]], dtype=np.float16)

    assert np.array_equal(from_bytes(to_bytes(matrix), 2), matrix)
    assert from_bytes(b"", 0).shape == (0, 0)
    assert from_bytes(to_bytes(np.zeros((0, 4), dtype=np.float16)), 4).shape == (0, 4)


def test_best_sentence_scores_take_each_chunks_best_sentence() -> None:
    vectors = {
        "a": np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float16),  # best: 0.6*0.6+0.8*0.8
        "b": np.array([[0.0, 1.0]], dtype=np.float16),  # 0.8
        "c": np.zeros((0, 2), dtype=np.float16),  # no sentence: left out
        "d": np.array([[1.0, 0.0, 0.0]], dtype=np.float16),  # another model's size: left out
    }

    scores = best_sentence_scores(np.array([3.0, 4.0]), vectors)  # normalised to (0.6, 0.8)

    assert [cid for cid, _ in scores] == ["a", "b"]
    assert [s for _, s in scores] == pytest.approx([1.0, 0.8], abs=1e-3)


def test_best_sentence_scores_of_nothing_is_empty() -> None:
    assert best_sentence_scores(np.array([1.0, 0.0]), {}) == []
