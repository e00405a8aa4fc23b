"""Fair, bounded ingestion through the HTTP surface: a long unpunctuated upload is embedded in window-sized
pieces by an embedder of its own, so another tenant's search never waits behind it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient

from knowledge.embeddings import E5_WINDOW_TOKENS
from tests.conftest import new_tenant, search, state, upload, wait_for


class RecordingEmbedder:
    """Wraps the ingest embedder and records every text handed to the model."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.seen: list[str] = []

    def passages(self, texts: Sequence[str]) -> Any:
        self.seen.extend(texts)
        return self.inner.passages(texts)

    def query(self, text: str) -> Any:
        return self.inner.query(text)

    def latent(self, texts: Sequence[str]) -> Any:
        self.seen.extend(texts)
        return self.inner.latent(texts)

    def window(self, text: str) -> list[str]:
        return list(self.inner.window(text))


def unpunctuated(n_words: int, tail: str) -> bytes:
    filler = " ".join(f"item{i % 97} shelf{i % 13} colour{i % 7}" for i in range(n_words // 3))
    return f"{filler} {tail}".encode()


def test_a_long_unpunctuated_upload_is_embedded_in_window_sized_pieces_and_found(client: TestClient) -> None:
    knowledge = state(client).knowledge
    recorder = RecordingEmbedder(knowledge.ingester._embedder)
    knowledge.ingester._embedder = recorder
    key = new_tenant(client)
    tail = "the rooftop garden closes at nine for private moon viewing parties"
    source = wait_for(client, key, upload(client, key, "inventory.txt", unpunctuated(3000, tail))["id"])
    assert source["status"] == "ready", source
    model = knowledge.embedder
    assert recorder.seen
    assert max(model._tokens(text) for text in recorder.seen) <= E5_WINDOW_TOKENS
    # The end of the text was embedded, not truncated away: its piece is what search finds.
    hits = search(client, key, "when does the rooftop garden close for moon viewing?")
    assert hits and "rooftop garden" in hits[0]["text"]


def test_a_search_never_waits_for_a_document_being_embedded(client: TestClient) -> None:
    knowledge = state(client).knowledge
    key = new_tenant(client, "Searcher")
    wait_for(client, key, upload(client, key, "hours.md", b"# Hours\n\nWe open from 10am to 8pm.")["id"])
    ingest_model = knowledge.ingester._embedder
    assert ingest_model is not knowledge.embedder
    found: list[Any] = []
    with ingest_model._lock:  # as if another tenant's document were mid-slice, however long that takes
        searcher = threading.Thread(target=lambda: found.append(search(client, key, "brand new question?")))
        searcher.start()
        searcher.join(timeout=120)
        assert not searcher.is_alive(), "the search waited for the ingest embedder"
    assert found
