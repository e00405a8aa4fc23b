"""The query-embedding cache: a repeated question is embedded once, the cache stays bounded (least
recently used goes first), and an embedder without a latent head is asked once, not on every search."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from knowledge.embeddings import Sparse
from knowledge.query_embeddings import QueryEmbeddings


class CountingEmbedder:
    name = "counting"
    dim = 3

    def __init__(self, latent: bool = True) -> None:
        self.calls: list[tuple[str, str]] = []
        self._latent = latent

    def passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        raise AssertionError("queries only")

    def query(self, text: str) -> NDArray[np.float32]:
        self.calls.append(("dense", text))
        return np.array([len(text), 0.0, 1.0], dtype=np.float32)

    def latent(self, texts: Sequence[str]) -> list[Sparse] | None:
        self.calls.extend(("latent", text) for text in texts)
        return [([7, len(text)], [0.5, 0.25]) for text in texts] if self._latent else None

    def window(self, text: str) -> list[str]:
        return [text]


def test_a_repeated_question_is_embedded_once() -> None:
    embedder = CountingEmbedder()
    queries = QueryEmbeddings(embedder)
    for _ in range(3):
        assert queries.dense("營業時間?") == [5.0, 0.0, 1.0]
        assert queries.latent("營業時間?") == ([7, 5], [0.5, 0.25])
    assert embedder.calls == [("dense", "營業時間?"), ("latent", "營業時間?")]


def test_callers_get_their_own_copies() -> None:
    queries = QueryEmbeddings(CountingEmbedder())
    queries.dense("hours").append(99.0)  # a caller building its request must not change the cache
    queries.latent("hours")[0].append(99)  # type: ignore[index]
    assert queries.dense("hours") == [5.0, 0.0, 1.0]
    assert queries.latent("hours") == ([7, 5], [0.5, 0.25])


def test_the_least_recently_used_question_goes_first() -> None:
    embedder = CountingEmbedder()
    queries = QueryEmbeddings(embedder, max_entries=2)
    queries.dense("a")
    queries.dense("b")
    queries.dense("a")  # used again: "b" is now the oldest
    queries.dense("c")  # evicts "b"
    embedder.calls.clear()
    queries.dense("a")
    queries.dense("c")
    assert embedder.calls == []
    queries.dense("b")
    assert embedder.calls == [("dense", "b")]


def test_an_embedder_without_a_latent_head_is_asked_once() -> None:
    embedder = CountingEmbedder(latent=False)
    queries = QueryEmbeddings(embedder)
    assert queries.latent("hours") is None
    assert queries.latent("hours") is None
    assert embedder.calls == [("latent", "hours")]
