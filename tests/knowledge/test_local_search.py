"""Local-mode vectorised scoring returns what Qdrant itself returns, and follows every write."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from knowledge.index import DENSE, LATENT, SPARSE, IndexPoint, KnowledgeIndex, Query
from knowledge.lexical import document_vector, query_vector

WORDS = [
    "facial",
    "massage",
    "refund",
    "deposit",
    "typhoon",
    "parking",
    "serum",
    "gift",
    "card",
    "面部",
    "護理",
    "退款",
]


def points(n: int, rng: np.random.Generator) -> list[IndexPoint]:
    dense = rng.standard_normal((n, 8)).astype(np.float32)
    out = []
    for i in range(n):
        text = " ".join(random.choices(WORDS, k=12))
        latent = (sorted(random.sample(range(500), 20)), [random.random() for _ in range(20)])
        out.append(
            IndexPoint(
                chunk_id=f"c{i}",
                unit=0,
                source_id="s",
                text=text,
                dense=dense[i],
                sparse=document_vector(text),
                latent=latent,
            )
        )
    return out


def test_local_scores_match_qdrants_own() -> None:
    random.seed(3)
    rng = np.random.default_rng(3)
    client = QdrantClient(":memory:")
    local = KnowledgeIndex(client, dim=8, server=False, shared_collection="unused")
    local.upsert("t", points(300, rng))
    query = Query(
        dense=rng.standard_normal(8).tolist(),
        latent=(sorted(random.sample(range(500), 30)), [1.0] * 30),
        lexical=query_vector("refund deposit 面部護理"),
        dense_limit=10,
        latent_limit=10,
        lexical_limit=10,
    )
    ours = local.search("t", query)
    collection = local.collection("t")
    assert query.dense is not None and query.latent is not None and query.lexical is not None
    asked: list[tuple[str, Any]] = [
        (DENSE, list(query.dense)),
        (LATENT, models.SparseVector(indices=query.latent[0], values=query.latent[1])),
        (SPARSE, models.SparseVector(indices=query.lexical[0], values=query.lexical[1])),
    ]
    for name, qdrant_query in asked:
        theirs = client.query_points(
            collection, query=qdrant_query, using=name, limit=10, with_payload=True
        ).points
        assert [h.chunk_id for h in ours[name]] == [p.payload["chunk_id"] for p in theirs if p.payload]
        assert np.allclose([h.score for h in ours[name]], [p.score for p in theirs], atol=1e-4)


def test_local_search_sees_every_write() -> None:
    random.seed(4)
    index = KnowledgeIndex.in_memory(dim=8)
    batch = points(5, np.random.default_rng(4))
    index.upsert("t", batch[:3])
    probe = Query(dense=list(map(float, batch[4].dense)), dense_limit=10)
    assert {h.chunk_id for h in index.search("t", probe)[DENSE]} == {"c0", "c1", "c2"}
    index.upsert("t", batch[3:])
    assert index.search("t", probe)[DENSE][0].chunk_id == "c4"
    index.delete_chunks("t", ["c4"])
    assert "c4" not in {h.chunk_id for h in index.search("t", probe)[DENSE]}
    index.drop_tenant("t")
    assert index.search("t", probe)[DENSE] == []
