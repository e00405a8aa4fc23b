"""Every text the embedder reads fits the model's window; long texts are cut into pieces, not truncated."""

from __future__ import annotations

import pytest

from knowledge.embeddings import E5_WINDOW_TOKENS, LocalE5Embedder
from knowledge.ingest import merge_latent
from knowledge.windows import cut


def words(text: str) -> int:
    return len(text.split())


def test_a_text_that_fits_is_one_piece() -> None:
    assert cut("  opening hours are ten to eight  ", words, 10) == ["opening hours are ten to eight"]
    assert cut("   ", words, 10) == []


def test_a_long_text_is_cut_at_word_breaks_into_pieces_that_fit_and_lose_nothing() -> None:
    text = " ".join(f"w{i}" for i in range(1000))
    pieces = cut(text, words, 64)
    assert all(words(p) <= 64 for p in pieces)
    assert " ".join(pieces) == text  # joined, the pieces give back the text: nothing truncated away
    assert len(pieces) == 16


def test_a_run_without_spaces_is_cut_mid_run() -> None:
    text = "營業時間" * 300

    def chars(piece: str) -> int:
        return len(piece)

    pieces = cut(text, chars, 100)
    assert [len(p) for p in pieces] == [100] * 12
    assert "".join(pieces) == text


def test_a_window_holds_at_least_one_token() -> None:
    with pytest.raises(ValueError):
        cut("text", words, 0)


def test_the_local_model_window_counts_its_own_tokens(embedder: LocalE5Embedder) -> None:
    text = "appointmentreschedulingpolicy " * 900 + "ends with the parking rule"
    pieces = embedder.window(text)
    assert len(pieces) > 1
    assert all(embedder._tokens(p) <= E5_WINDOW_TOKENS for p in pieces)
    assert " ".join(pieces) == text.strip()
    assert embedder.window("How much is a facial?") == ["How much is a facial?"]


def test_a_query_longer_than_the_window_is_read_up_to_its_end(embedder: LocalE5Embedder) -> None:
    long_question = "how much is a facial " * 400
    first = embedder.window(long_question)[0]
    assert embedder.query(long_question).tolist() == embedder.query(first).tolist()


def test_latent_vectors_of_pieces_merge_by_the_strongest_feature() -> None:
    merged = merge_latent([([1, 2], [0.5, 0.1]), ([2, 3], [0.4, 0.2])])
    assert merged == ([1, 2, 3], [0.5, 0.4, 0.2])
