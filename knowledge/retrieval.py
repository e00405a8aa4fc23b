"""Hybrid retrieval: dense multi-granularity search fused with lexical search, weighted per query.

Dense search runs over every unit (chunks and their sentences); a chunk scores by its best unit.
Lexical (BM25-style) search runs over whole chunks. The two rankings are fused with weighted
reciprocal-rank fusion. The lexical weight depends on the query: lexical search cannot cross
languages, so when a query's language differs from the chunks it found lexically, or the lexical
match is weak, its weight drops and the dense ranking decides.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from knowledge import lexical
from knowledge.embeddings import Embedder
from knowledge.index import Hit, KnowledgeIndex

RRF_K = 20.0
DENSE_WEIGHT = 1.0
SPARSE_WEIGHT = 0.6


@dataclass
class Candidate:
    chunk_id: str
    source_id: str
    text: str
    score: float = 0.0
    dense: float = 0.0
    dense_rank: int | None = None
    sparse_rank: int | None = None


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embedder) -> None:
        self._index = index
        self._embedder = embedder

    def search(self, tenant_id: str, query: str, k: int = 5, *, mode: str = "hybrid") -> list[Candidate]:
        query = query.strip()
        if not query:
            return []
        dense_vec = self._embedder.query(query) if mode in ("hybrid", "dense") else None
        sparse_vec = lexical.query_vector(query) if mode in ("hybrid", "sparse") else None
        dense_hits, sparse_hits = self._index.search(
            tenant_id,
            dense_vec.tolist() if dense_vec is not None else None,
            sparse_vec,
            dense_limit=max(60, k * 12),
            sparse_limit=max(30, k * 6),
        )
        return fuse(query, dense_hits, sparse_hits)[:k]

    async def asearch(self, tenant_id: str, query: str, k: int = 5) -> list[Candidate]:
        return await asyncio.to_thread(self.search, tenant_id, query, k)


def _sparse_weight(query: str, sparse_hits: list[Hit]) -> float:
    if not sparse_hits:
        return 0.0
    query_zh = lexical.han_ratio(query)
    top = sparse_hits[: min(5, len(sparse_hits))]
    same_language = sum(1 for h in top if abs(lexical.han_ratio(h.text) - query_zh) < 0.5) / len(top)
    return SPARSE_WEIGHT * same_language


def fuse(query: str, dense_hits: list[Hit], sparse_hits: list[Hit]) -> list[Candidate]:
    candidates: dict[str, Candidate] = {}
    rank = 0
    for hit in dense_hits:  # already sorted by score; the first unit seen is the chunk's best
        if hit.chunk_id in candidates:
            continue
        candidates[hit.chunk_id] = Candidate(
            hit.chunk_id, hit.source_id, hit.text, dense=hit.score, dense_rank=rank
        )
        rank += 1
    for rank, hit in enumerate(sparse_hits):
        cand = candidates.setdefault(hit.chunk_id, Candidate(hit.chunk_id, hit.source_id, hit.text))
        cand.sparse_rank = rank
    ws = _sparse_weight(query, sparse_hits)
    for cand in candidates.values():
        if cand.dense_rank is not None:
            cand.score += DENSE_WEIGHT / (RRF_K + cand.dense_rank)
        if cand.sparse_rank is not None:
            cand.score += ws / (RRF_K + cand.sparse_rank)
    return sorted(candidates.values(), key=lambda c: c.score, reverse=True)
