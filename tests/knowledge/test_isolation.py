"""Two tenants with overlapping content never see each other's chunks: HTTP API and Python API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant, search, state, upload, wait_for

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
    core = state(client).core
    knowledge = state(client).knowledge
    tenant_a = core.keys.resolve(a).tenant_id
    tenant_b = core.keys.resolve(b).tenant_id
    assert all("Alpha" in h.text for h in knowledge.search(tenant_a, "Deluxe Facial Beta", k=20))
    assert all("Beta" in h.text for h in knowledge.search(tenant_b, "Deluxe Facial Alpha", k=20))
    assert knowledge.search("no-such-tenant", "Deluxe Facial") == []


def test_server_mode_filters_by_tenant_in_one_shared_collection(embedder: object) -> None:
    """The same guarantee when all tenants share one collection (Qdrant server mode's layout)."""
    from qdrant_client import QdrantClient

    from knowledge.index import DENSE, SPARSE, IndexPoint, KnowledgeIndex, Query
    from knowledge.lexical import document_vector

    index = KnowledgeIndex(QdrantClient(":memory:"), dim=3, server=True, shared_collection="shared")
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
                )
            ],
        )
    assert index.collection("ta") == index.collection("tb") == "shared"
    hits = index.search("ta", Query(dense=[1.0, 0.0, 0.0], lexical=document_vector("deluxe facial beta")))
    assert [h.text for h in hits[DENSE]] == ["alpha deluxe facial"]
    assert [h.text for h in hits[SPARSE]] == ["alpha deluxe facial"]
    index.delete_source("ta", "s-tb")  # another tenant's source id: nothing of tb is deleted
    assert index.count("tb") == 1
    index.drop_tenant("ta")
    assert index.count("ta") == 0 and index.count("tb") == 1
