"""Two tenants with overlapping content never see each other's chunks: HTTP API and Python API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient

from knowledge.engine.server import ServerEngine
from knowledge.index import DENSE, LATENT, SPARSE, IndexPoint, KnowledgeIndex, Query
from knowledge.lexical import document_vector
from tests.conftest import auth, new_tenant, search, services, upload, wait_for

A_TEXT = b"# Prices\n\nThe Deluxe Facial costs HK$880 at Alpha Spa. Alpha Spa opens at 9am."
B_TEXT = b"# Prices\n\nThe Deluxe Facial costs HK$990 at Beta Beauty. Beta Beauty opens at 11am."


def test_tenants_cannot_retrieve_each_others_chunks(client: TestClient) -> None:
    a = new_tenant(client, "Alpha Spa")
    b = new_tenant(client, "Beta Beauty")
    a_src = wait_for(client, a, upload(client, a, "prices.md", A_TEXT)["id"])
    b_src = wait_for(client, b, upload(client, b, "prices.md", B_TEXT)["id"])

    for key, mine, other in ((a, "Alpha", "Beta"), (b, "Beta", "Alpha")):
        hits = search(client, key, "How much is the Deluxe Facial? Beta Beauty Alpha Spa", k=50)
        assert hits and all(mine in h["text"] and other not in h["text"] for h in hits)

    # Sources, too, are per tenant: reading, replacing or deleting another tenant's source is a 404.
    assert client.get(f"/v1/knowledge/sources/{b_src['id']}", headers=auth(a)).status_code == 404
    put = client.put(
        f"/v1/knowledge/sources/{b_src['id']}", files={"file": ("x.md", b"hijack")}, headers=auth(a)
    )
    assert put.status_code == 404
    assert client.delete(f"/v1/knowledge/sources/{b_src['id']}", headers=auth(a)).status_code == 404
    assert [s["id"] for s in client.get("/v1/knowledge/sources", headers=auth(a)).json()["sources"]] == [
        a_src["id"]
    ]
    assert "HK$990" in search(client, b, "deluxe facial price")[0]["text"]


def test_python_api_is_tenant_scoped(client: TestClient) -> None:
    a = new_tenant(client, "Alpha Spa")
    b = new_tenant(client, "Beta Beauty")
    wait_for(client, a, upload(client, a, "prices.md", A_TEXT)["id"])
    wait_for(client, b, upload(client, b, "prices.md", B_TEXT)["id"])
    core = services(client).core
    knowledge = services(client).knowledge
    tenant_a = core.keys.resolve(a).tenant_id
    tenant_b = core.keys.resolve(b).tenant_id
    assert all("Alpha" in h.text for h in knowledge.search(tenant_a, "Deluxe Facial Beta", k=20))
    assert all("Beta" in h.text for h in knowledge.search(tenant_b, "Deluxe Facial Alpha", k=20))
    assert knowledge.search("no-such-tenant", "Deluxe Facial") == []


@pytest.mark.parametrize("engine", ["edge", "server"])
def test_both_engines_filter_by_tenant_in_one_shared_place(engine: str, tmp_path: Path) -> None:
    """The same guarantee in the layout both engines share: every tenant's points in one Edge shard or
    one server collection (the server on qdrant-client's in-memory engine), a tenant filter on every call."""
    if engine == "server":
        index = KnowledgeIndex(ServerEngine(QdrantClient(":memory:"), "shared", dim=3))
    else:
        index = KnowledgeIndex.embedded(tmp_path / "edge", dim=3)
    for tenant, text in (("ta", "alpha deluxe facial"), ("tb", "beta deluxe facial")):
        index.upsert(
            tenant,
            [
                IndexPoint(
                    chunk_id=f"{tenant}-1",
                    unit=0,
                    source_id=f"s-{tenant}",
                    text=text,
                    dense=[1.0, 0.0, 0.0],
                    sparse=document_vector(text),
                    latent=([1, 2], [0.5, 0.5]),
                )
            ],
        )
    if isinstance(index.engine, ServerEngine):
        assert [c.name for c in index.engine.client.get_collections().collections] == ["shared"]
    assert index.count("ta") == index.count("tb") == 1
    hits = index.search(
        "ta",
        Query(
            dense=[1.0, 0.0, 0.0], lexical=document_vector("deluxe facial beta"), latent=([1, 2], [1.0, 1.0])
        ),
    )
    assert [h.text for h in hits[DENSE]] == ["alpha deluxe facial"]
    assert [h.text for h in hits[SPARSE]] == ["alpha deluxe facial"]
    assert [h.text for h in hits[LATENT]] == ["alpha deluxe facial"]
    assert list(index.chunk_texts("ta")) == ["alpha deluxe facial"]
    index.delete_chunks("ta", ["tb-1"])  # another tenant's chunk id: nothing of tb is deleted
    index.delete_source("ta", "s-tb")  # nor by its source id
    assert index.count("tb") == 1
    index.drop_tenant("ta")
    assert index.count("ta") == 0 and index.count("tb") == 1
    assert index.search("ta", Query(dense=[1.0, 0.0, 0.0]))[DENSE] == []
    index.close()
