"""Fair, bounded ingestion through the HTTP surface: a long unpunctuated upload is embedded in window-sized
pieces by an embedder of its own, so another tenant's search never waits behind it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from core.models import Job
from knowledge.embeddings import E5_WINDOW_TOKENS
from knowledge.sources import JOB_KIND
from tests.conftest import auth, new_tenant, search, services, upload, wait_for


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
    knowledge = services(client).knowledge
    recorder = RecordingEmbedder(knowledge.ingester._embedder)
    knowledge.ingester._embedder = recorder
    key = new_tenant(client)
    tail = "the rooftop garden closes at nine for private moon viewing parties"
    source = wait_for(client, key, upload(client, key, "inventory.txt", unpunctuated(900, tail))["id"])
    assert source["status"] == "ready", source
    model = knowledge.embedder
    assert recorder.seen
    assert max(model._tokens(text) for text in recorder.seen) <= E5_WINDOW_TOKENS
    # The end of the text was embedded, not truncated away: its piece is what search finds.
    hits = search(client, key, "when does the rooftop garden close for moon viewing?")
    assert hits and "rooftop garden" in hits[0]["text"]


def test_a_search_never_waits_for_a_document_being_embedded(client: TestClient) -> None:
    knowledge = services(client).knowledge
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


class GatedEmbedder(RecordingEmbedder):
    """Holds the first batch of passages until the test lets it go (the document is mid-embedding)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.started, self.go = threading.Event(), threading.Event()
        self.batches = 0

    def passages(self, texts: Sequence[str]) -> Any:
        self.batches += 1
        self.started.set()
        assert self.go.wait(120)
        return super().passages(texts)


def ingest_jobs_settled(client: TestClient, timeout: float = 120.0) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services(client).core.db.session() as session:
            jobs = list(session.scalars(select(Job).where(Job.kind == JOB_KIND)))
        if jobs and all(job.status in ("done", "failed") for job in jobs):
            return jobs
        time.sleep(0.05)
    raise AssertionError("the ingest job never finished")


def test_deleting_a_source_cancels_its_running_ingest_and_leaves_nothing_of_it(client: TestClient) -> None:
    knowledge = services(client).knowledge
    gate = GatedEmbedder(knowledge.ingester._embedder)
    knowledge.ingester._embedder = gate
    key = new_tenant(client)
    source = upload(client, key, "huge.txt", unpunctuated(6000, "the rooftop garden closes at nine"))
    assert gate.started.wait(120)  # the run is embedding its first batch
    response = client.delete(f"/v1/knowledge/sources/{source['id']}", headers=auth(key))
    assert response.status_code in (200, 204), response.text
    gate.go.set()
    jobs = ingest_jobs_settled(client)
    assert [job.status for job in jobs] == ["done"]  # stopped, not failed nor retried
    assert gate.batches == 1  # no batch was embedded after the one in flight at the delete
    tenant_id = services(client).core.keys.resolve(key).tenant_id
    assert knowledge.index.count(tenant_id, source["id"], chunks_only=False) == 0
    assert search(client, key, "when does the rooftop garden close?") == []
