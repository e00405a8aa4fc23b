"""Query latency: full hybrid search as shipped vs a bare qdrant-client dense query, same collection.

One tenant with 10,000 chunks (4 points each: the chunk and 3 sentence units; synthetic vectors)
among 20 tenants, in the embedded default (Qdrant local mode on disk). Query embedding (dense +
latent terms) is timed separately. Retrieval remembers query embeddings per text
(knowledge/query_embeddings.py), so the full search is timed on questions it has not seen (each with
its own number) and again on the same questions asked a second time.

    .venv/bin/python bench/query.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from qdrant_client import models  # noqa: E402

from bench.common import environment, percentile  # noqa: E402
from knowledge.index import DENSE, LATENT, IndexPoint  # noqa: E402
from knowledge.lexical import document_vector  # noqa: E402

WORDS = [
    "delivery",
    "refund",
    "facial",
    "massage",
    "price",
    "booking",
    "member",
    "gift",
    "card",
    "parking",
    "typhoon",
    "deposit",
    "serum",
]
QUERIES = [
    "How much is the deluxe facial?",
    "退款要幾耐？",
    "Can I park my car?",
    "颱風天開唔開門？",
    "What is the deposit for a booking?",
    "會員有咩優惠？",
    "gift card validity",
    "serum stock",
] * 25


def synthetic_points(n_chunks: int, dim: int, rng: np.random.Generator) -> list[IndexPoint]:
    points = []
    dense = rng.standard_normal((n_chunks * 4, dim)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    for c in range(n_chunks):
        text = " ".join(random.choices(WORDS, k=30)) + f" item {c}"
        latent = (sorted(random.sample(range(16384), 64)), [random.random() for _ in range(64)])
        for u in range(4):
            points.append(
                IndexPoint(
                    chunk_id=f"c{c}",
                    unit=u,
                    source_id="s1",
                    text=text,
                    dense=dense[c * 4 + u],
                    sparse=document_vector(text) if u == 0 else None,
                    latent=latent if u == 0 else None,
                    lang="zh" if c % 3 == 0 else "en",
                )
            )
    return points


def main() -> None:
    random.seed(7)
    rng = np.random.default_rng(7)
    with environment() as env:
        index, retriever, embedder = env.knowledge.index, env.knowledge.retriever, env.knowledge.embedder
        big = "tenant-big"
        for t in range(19):
            index.upsert(f"tenant-{t}", synthetic_points(200, index.dim, rng))
        index.upsert(big, synthetic_points(10_000, index.dim, rng))
        collection = index.collection(big)

        start = time.perf_counter()
        retriever.search(big, "warm-up", k=5)  # the first search after writes builds the local-mode snapshot
        cold_ms = (time.perf_counter() - start) * 1000

        # Each measurement in its own loop, so one kind of call's allocations do not land on another's timing.
        vectors = {q: embedder.query(q) for q in set(QUERIES)}
        embed_ms, bare_ms, full_ms = [], [], []
        for q in QUERIES:
            start = time.perf_counter()
            embedder.query(q)
            embedder.latent([q])
            embed_ms.append((time.perf_counter() - start) * 1000)
        for q in QUERIES:
            start = time.perf_counter()
            index.client.query_points(
                collection, query=vectors[q].tolist(), using=DENSE, limit=5, with_payload=True
            )
            bare_ms.append((time.perf_counter() - start) * 1000)
        new = [f"{q} #{i}" for i, q in enumerate(QUERIES)]  # never seen: each pays its embedding
        for q in new:
            start = time.perf_counter()
            retriever.search(big, q, k=5)
            full_ms.append((time.perf_counter() - start) * 1000)
        again_ms = []
        for q in new:
            start = time.perf_counter()
            retriever.search(big, q, k=5)
            again_ms.append((time.perf_counter() - start) * 1000)

        search_only = [f - e for f, e in zip(full_ms, embed_ms, strict=True)]
        print(
            f"collection: {index.count(big)} chunks ({index.count(big, chunks_only=False)} points) "
            f"+ 19 tenants x 200 chunks; {len(QUERIES)} queries"
        )
        for name, values in (
            ("query embedding", embed_ms),
            ("bare dense query", bare_ms),
            ("full search (incl. embedding)", full_ms),
            ("full search minus embedding", search_only),
            ("full search, asked before", again_ms),
        ):
            print(
                f"{name:32s} p50 {percentile(values, 0.5):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms"
            )
        print(f"first search after a write (local-mode snapshot rebuild): {cold_ms:.0f} ms")
        # Why local mode scores from numpy: Qdrant local mode's own latent-term (sparse) query, same collection.
        latent = embedder.latent([QUERIES[0]])
        assert latent is not None
        sparse = models.SparseVector(indices=latent[0][0], values=latent[0][1])
        qdrant_sparse = []
        for _ in range(5):
            start = time.perf_counter()
            index.client.query_points(collection, query=sparse, using=LATENT, limit=40)
            qdrant_sparse.append((time.perf_counter() - start) * 1000)
        print(
            f"Qdrant local mode's own latent-term query (not used): p50 {percentile(qdrant_sparse, 0.5):.0f} ms"
        )
        ratio = percentile(search_only, 0.5) / percentile(bare_ms, 0.5)
        print(f"full search / bare query (p50, both without embedding): {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
