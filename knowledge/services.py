"""The knowledge services of one app instance, built from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from config import Settings
from core.services import CoreServices
from knowledge import query_embeddings
from knowledge.docstore import SqlKVStore
from knowledge.embeddings import Embedder, for_ingest, make_embedder
from knowledge.index import DENSE, KnowledgeIndex, Query
from knowledge.ingest import Ingester
from knowledge.query_embeddings import QueryEmbeddings
from knowledge.rerank import RERANK_TOP, rerank
from knowledge.retrieval import Candidate, Retriever
from knowledge.sources import Fetchers, SourceService
from knowledge.tenant_cache import PerTenant
from knowledge.vocabulary import Vocabulary

MAX_UNITS_SCORED = 200


@dataclass
class SearchHit:
    text: str
    score: float
    source_id: str
    source_name: str
    chunk_id: str
    dense: float = 0.0
    """Cosine similarity of the chunk's best unit to the query."""
    lang: str = "en"
    """The chunk's language: en, zh or mixed."""
    units: dict[int, tuple[float, str]] = field(default_factory=dict)
    """The chunk's units that matched: unit number -> (cosine, text)."""


@dataclass
class KnowledgeServices:
    embedder: Embedder
    index: KnowledgeIndex
    ingester: Ingester
    sources: SourceService
    retriever: Retriever
    queries: QueryEmbeddings
    vocabularies: PerTenant[Vocabulary]

    def search(self, tenant_id: str, query: str, k: int = 5) -> list[SearchHit]:
        """The public Python API of retrieval: tenant-scoped hits with their source names, the hybrid
        candidates reranked on the evidence each chunk holds for this question (knowledge/rerank.py)."""
        candidates = self.retriever.search(tenant_id, query, max(k, RERANK_TOP))
        words = self.vocabulary(tenant_id) if candidates else None
        found: list[Candidate] = rerank(query, candidates, words)[:k]
        names = self.sources.names(tenant_id, {c.source_id for c in found})
        return [
            SearchHit(
                text=c.text,
                score=round(c.score, 6),
                source_id=c.source_id,
                source_name=names.get(c.source_id, ""),
                chunk_id=c.chunk_id,
                dense=c.dense,
                lang=c.lang,
                units=c.units,
            )
            for c in found
            if c.source_id in names  # a source deleted a moment ago is not served
        ]

    def unit_scores(
        self, tenant_id: str, query: str, chunk_ids: list[str]
    ) -> dict[str, dict[int, tuple[float, str]]]:
        """Every unit of these chunks scored against the query: chunk id -> unit -> (cosine, text)."""
        if not chunk_ids:
            return {}
        spec = Query(dense=self.queries.dense(query), dense_limit=MAX_UNITS_SCORED, chunk_ids=chunk_ids)
        scores: dict[str, dict[int, tuple[float, str]]] = {c: {} for c in chunk_ids}
        for hit in self.index.search(tenant_id, spec)[DENSE]:
            scores.setdefault(hit.chunk_id, {})[hit.unit] = (hit.score, hit.unit_text)
        return scores

    def fingerprint(self, tenant_id: str) -> tuple[tuple[str, int, str, int], ...]:
        return self.sources.fingerprint(tenant_id)

    def vocabulary(self, tenant_id: str) -> Vocabulary:
        """The words in the tenant's knowledge (rebuilt when its sources change)."""
        return self.vocabularies.get(tenant_id)

    def close(self) -> None:
        self.index.close()


def build_knowledge(
    settings: Settings,
    core: CoreServices,
    *,
    embedder: Embedder | None = None,
    index: KnowledgeIndex | None = None,
    fetchers: Fetchers | None = None,
) -> KnowledgeServices:
    embedder = embedder or make_embedder(settings)
    index = index or KnowledgeIndex.from_settings(settings, embedder.dim)
    # Its own handle on the model: a document being indexed never holds up a search's query.
    ingester = Ingester(index, SqlKVStore(core.db), for_ingest(embedder))
    sources = SourceService(core.db, core.jobs, ingester, settings, fetchers)
    queries = query_embeddings.shared(embedder)
    vocabularies = PerTenant(
        lambda tenant_id: Vocabulary.of(index.chunk_texts(tenant_id)), sources.fingerprint
    )
    return KnowledgeServices(
        embedder, index, ingester, sources, Retriever(index, embedder, queries), queries, vocabularies
    )
