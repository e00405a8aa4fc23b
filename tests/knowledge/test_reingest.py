"""Incremental re-ingest (PUT) and deletion: only changed chunks are embedded; deleted means gone."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant, search, services, upload, wait_for

SECTIONS = {
    "Hours": "We open from 10am to 8pm every day.",
    "Payment": "We accept Visa, Mastercard and Octopus cards.",
    "Parking": "Two hours of free parking come with any treatment.",
    "Gifts": "Gift cards are valid for twelve months.",
}


def markdown(sections: dict[str, str]) -> bytes:
    return "\n\n".join(f"# {title}\n\n{body}" for title, body in sections.items()).encode()


class CountingEmbedder:
    """Wraps the real embedder and counts the passages it embeds."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.passages_embedded = 0

    def passages(self, texts: Any) -> Any:
        self.passages_embedded += len(texts)
        return self.inner.passages(texts)

    def query(self, text: str) -> Any:
        return self.inner.query(text)

    def latent(self, texts: Any) -> Any:
        return self.inner.latent(texts)

    def window(self, text: str) -> Any:
        return self.inner.window(text)


def put_file(client: TestClient, key: str, source_id: str, filename: str, data: bytes) -> dict[str, Any]:
    response = client.put(
        f"/v1/knowledge/sources/{source_id}", files={"file": (filename, data)}, headers=auth(key)
    )
    assert response.status_code == 202, response.text
    return wait_for(client, key, source_id)


def test_reupload_embeds_only_changed_chunks(client: TestClient) -> None:
    knowledge = services(client).knowledge
    counter = CountingEmbedder(knowledge.embedder)
    knowledge.ingester._embedder = counter
    key = new_tenant(client)
    source = wait_for(client, key, upload(client, key, "faq.md", markdown(SECTIONS))["id"])
    assert source["chunks"] == 4
    first = counter.passages_embedded
    assert first >= 4

    unchanged = put_file(client, key, source["id"], "faq.md", markdown(SECTIONS))
    assert unchanged["status"] == "ready" and unchanged["chunks"] == 4
    assert counter.passages_embedded == first  # nothing re-embedded

    changed = dict(SECTIONS, Payment="We accept Visa, Mastercard, Octopus cards and Alipay HK.")
    del changed["Gifts"]
    result = put_file(client, key, source["id"], "faq.md", markdown(changed))
    assert result["chunks"] == 3
    assert counter.passages_embedded == first + 1  # one changed chunk (a single sentence: one unit)

    tenant = services(client).core.keys.resolve(key).tenant_id
    assert knowledge.index.count(tenant, source["id"]) == 3
    assert "Alipay" in search(client, key, "Can I pay with Alipay?")[0]["text"]
    assert all("twelve months" not in h["text"] for h in search(client, key, "gift card validity", k=10))


def test_put_replaces_with_another_file_type(client: TestClient) -> None:
    key = new_tenant(client)
    source = wait_for(client, key, upload(client, key, "notes.txt", b"Old text about ferries.")["id"])
    updated = put_file(client, key, source["id"], "notes.csv", b"Item,Price\nFerry ticket,HK$ 45\n")
    assert updated["file_type"] == "csv" and updated["name"] == "notes.csv" and updated["chunks"] == 1
    assert "ferries" not in search(client, key, "ferry", k=10)[0]["text"]


def test_failed_reupload_keeps_the_previous_version_searchable(client: TestClient) -> None:
    key = new_tenant(client)
    source = wait_for(client, key, upload(client, key, "faq.md", markdown(SECTIONS))["id"])
    failed = put_file(client, key, source["id"], "faq.pdf", b"%PDF-1.4 broken")
    assert failed["status"] == "failed" and "corrupt" in failed["error"]
    assert "previous version" in failed["error"]
    assert "Octopus" in search(client, key, "Do you take Octopus?")[0]["text"]


def test_delete_removes_every_vector_and_the_docstore(client: TestClient) -> None:
    knowledge = services(client).knowledge
    key = new_tenant(client)
    keep = wait_for(
        client, key, upload(client, key, "keep.md", b"# Ferry\n\nThe ferry leaves at noon.")["id"]
    )
    gone = wait_for(client, key, upload(client, key, "faq.md", markdown(SECTIONS))["id"])
    tenant = services(client).core.keys.resolve(key).tenant_id
    assert knowledge.index.count(tenant, gone["id"], chunks_only=False) >= 4

    response = client.delete(f"/v1/knowledge/sources/{gone['id']}", headers=auth(key))
    assert response.status_code == 204
    assert knowledge.index.count(tenant, gone["id"], chunks_only=False) == 0
    assert knowledge.ingester._kv.get_all(f"{tenant}/{gone['id']}/metadata") == {}
    assert client.get(f"/v1/knowledge/sources/{gone['id']}", headers=auth(key)).status_code == 404
    assert all(
        h["source"]["id"] == keep["id"] for h in search(client, key, "payment parking gift hours", k=10)
    )
    assert client.delete(f"/v1/knowledge/sources/{gone['id']}", headers=auth(key)).status_code == 404


def test_put_of_unknown_source_is_a_404_and_kind_mismatch_a_422(client: TestClient) -> None:
    key = new_tenant(client)
    missing = client.put("/v1/knowledge/sources/nope", files={"file": ("a.txt", b"x")}, headers=auth(key))
    assert missing.status_code == 404
    source = upload(client, key, "a.txt", b"hello")
    wrong = client.put(
        f"/v1/knowledge/sources/{source['id']}", json={"url": "https://example.com"}, headers=auth(key)
    )
    assert wrong.status_code == 422 and "multipart" in wrong.json()["error"]["message"]


def test_files_indexed_with_an_older_chunking_format_are_indexed_again_at_start(
    app_factory: Any,
) -> None:
    from sqlalchemy import update

    from knowledge.chunking import CHUNKING_FORMAT
    from knowledge.models import Source

    with TestClient(app_factory()) as client:
        key = new_tenant(client)
        source = upload(client, key, "faq.md", markdown(SECTIONS))
        assert wait_for(client, key, source["id"])["status"] == "ready"
        with services(client).core.db.session() as session:
            assert session.get(Source, source["id"]).indexed_with == CHUNKING_FORMAT
            session.execute(update(Source).values(indexed_with=None))  # as the previous release left it
    # A new start: the stored file is chunked again (unchanged chunks keep their vectors, by content hash).
    with TestClient(app_factory()) as client:
        deadline = time.monotonic() + 30
        indexed_with = None
        while indexed_with != CHUNKING_FORMAT and time.monotonic() < deadline:
            time.sleep(0.05)
            with services(client).core.db.session() as session:
                indexed_with = session.get(Source, source["id"]).indexed_with
        assert indexed_with == CHUNKING_FORMAT
        assert wait_for(client, key, source["id"])["status"] == "ready"
