"""The Qdrant index: the one place that maps a tenant to where its vectors live.

Local mode (embedded default): one collection per tenant, because local mode ignores payload
indexes and would scan a shared collection linearly on every filtered query.
Server mode: one shared collection with a `tenant_id` keyword payload index marked `is_tenant`
(Qdrant co-locates each tenant's points), and every call carries a mandatory tenant filter.

Each chunk is stored as several points: unit 0 is the whole chunk (dense + lexical sparse vector),
units 1.. are its sentences or question (dense only); all carry the chunk's id and text.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from qdrant_client import QdrantClient, models

from config import Settings
from knowledge.local_search import LocalSearcher

DENSE = "dense"
SPARSE = "lexical"
LATENT = "latent"
Sparse = tuple[list[int], list[float]]
_NAMESPACE = uuid.UUID("0b6c4a52-3c59-4d8e-9a43-6e0f2f1f6a11")


@dataclass
class IndexPoint:
    chunk_id: str
    unit: int
    source_id: str
    text: str
    dense: Sequence[float]
    sparse: Sparse | None = None
    latent: Sparse | None = None
    lang: str = "en"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    chunk_id: str
    source_id: str
    text: str
    unit: int
    score: float
    lang: str = "en"
    unit_text: str = ""
    """The unit that matched (a sentence, list item or the chunk's question); "" for the chunk itself."""


@dataclass
class Query:
    """One hybrid lookup: each signal is optional; all run in one round trip."""

    dense: Sequence[float] | None = None
    latent: Sparse | None = None
    lexical: Sparse | None = None
    dense_limit: int = 60
    latent_limit: int = 30
    lexical_limit: int = 30
    chunk_ids: Sequence[str] | None = None
    """Only these chunks' points (scoring the units of chosen passages)."""


class KnowledgeIndex:
    def __init__(self, client: QdrantClient, *, dim: int, server: bool, shared_collection: str) -> None:
        self.client = client
        self.dim = dim
        self.server = server
        self._shared = shared_collection
        self._ready: set[str] = set()
        # Local mode keeps its state in Python objects without locking; calls from the API's
        # threadpool and the worker thread must take turns. A server does its own locking.
        self._lock: threading.Lock | None = None if server else threading.Lock()
        self._local = None if server else LocalSearcher(client, DENSE, [LATENT, SPARSE], idf_names=[SPARSE])

    @classmethod
    def from_settings(cls, settings: Settings, dim: int) -> KnowledgeIndex:
        if settings.qdrant_url:
            client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=30)
            return cls(client, dim=dim, server=True, shared_collection=settings.qdrant_collection)
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        client = QdrantClient(path=str(settings.qdrant_path))
        return cls(client, dim=dim, server=False, shared_collection=settings.qdrant_collection)

    @classmethod
    def in_memory(cls, dim: int) -> KnowledgeIndex:
        return cls(QdrantClient(location=":memory:"), dim=dim, server=False, shared_collection="unused")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        if self._lock is None:
            yield
        else:
            with self._lock:
                yield

    # --- the tenant mapping: the only code that decides where a tenant's points are -------------
    def collection(self, tenant_id: str) -> str:
        return self._shared if self.server else f"tenant_{tenant_id}"

    def _tenant_conditions(self, tenant_id: str) -> list[models.Condition]:
        if self.server:
            return [models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id))]
        return []

    def _filter(self, tenant_id: str, *conditions: models.Condition) -> models.Filter | None:
        must = [*self._tenant_conditions(tenant_id), *conditions]
        return models.Filter(must=must) if must else None

    def _ensure(self, tenant_id: str) -> str:
        name = self.collection(tenant_id)
        if name in self._ready:
            return name
        if not self.client.collection_exists(name):
            self.client.create_collection(
                name,
                vectors_config={DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF),
                    LATENT: models.SparseVectorParams(),
                },
            )
            if self.server:
                self.client.create_payload_index(
                    name,
                    "tenant_id",
                    models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
                )
                for key in ("source_id", "chunk_id", "lang"):
                    self.client.create_payload_index(name, key, models.PayloadSchemaType.KEYWORD)
        self._ready.add(name)
        return name

    def _exists(self, tenant_id: str) -> bool:
        name = self.collection(tenant_id)
        return name in self._ready or self.client.collection_exists(name)

    # --- writes ------------------------------------------------------------------------------------
    @staticmethod
    def point_id(tenant_id: str, chunk_id: str, unit: int) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}/{chunk_id}/{unit}"))

    def upsert(self, tenant_id: str, points: Sequence[IndexPoint], batch: int = 256) -> None:
        # The lock is taken per batch: a large document's tens of thousands of points never hold up
        # another tenant's search for longer than one batch.
        structs = []
        for p in points:
            vector: dict[str, Any] = {DENSE: list(map(float, p.dense))}
            if p.sparse is not None and p.sparse[0]:
                vector[SPARSE] = models.SparseVector(indices=p.sparse[0], values=p.sparse[1])
            if p.latent is not None and p.latent[0]:
                vector[LATENT] = models.SparseVector(indices=p.latent[0], values=p.latent[1])
            payload = {
                "tenant_id": tenant_id,
                "source_id": p.source_id,
                "chunk_id": p.chunk_id,
                "lang": p.lang,
                "unit": p.unit,
                "text": p.text,
                **p.extra,
            }
            structs.append(
                models.PointStruct(
                    id=self.point_id(tenant_id, p.chunk_id, p.unit), vector=vector, payload=payload
                )
            )
        for start in range(0, len(structs), batch):
            with self._guard():
                name = self._ensure(tenant_id)
                self.client.upsert(name, structs[start : start + batch], wait=True)
                self._changed(name)

    def _delete(self, tenant_id: str, condition: models.Condition) -> None:
        with self._guard():
            if not self._exists(tenant_id):
                return
            selector = models.FilterSelector(
                filter=models.Filter(must=[*self._tenant_conditions(tenant_id), condition])
            )
            self.client.delete(self.collection(tenant_id), points_selector=selector, wait=True)
            self._changed(self.collection(tenant_id))

    def delete_chunks(self, tenant_id: str, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._delete(
                tenant_id, models.FieldCondition(key="chunk_id", match=models.MatchAny(any=list(chunk_ids)))
            )

    def delete_source(self, tenant_id: str, source_id: str) -> None:
        self._delete(
            tenant_id, models.FieldCondition(key="source_id", match=models.MatchValue(value=source_id))
        )

    def drop_tenant(self, tenant_id: str) -> None:
        if self.server:
            self._delete(
                tenant_id, models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id))
            )
            return
        with self._guard():
            name = self.collection(tenant_id)
            self._ready.discard(name)
            if self.client.collection_exists(name):
                self.client.delete_collection(name)
            self._changed(name)

    def _changed(self, collection: str) -> None:
        if self._local is not None:
            self._local.invalidate(collection)

    # --- reads -------------------------------------------------------------------------------------
    def count(self, tenant_id: str, source_id: str | None = None, *, chunks_only: bool = True) -> int:
        with self._guard():
            if not self._exists(tenant_id):
                return 0
            conditions: list[models.Condition] = []
            if source_id:
                conditions.append(
                    models.FieldCondition(key="source_id", match=models.MatchValue(value=source_id))
                )
            if chunks_only:
                conditions.append(models.FieldCondition(key="unit", match=models.MatchValue(value=0)))
            result = self.client.count(
                self.collection(tenant_id), count_filter=self._filter(tenant_id, *conditions)
            )
            return result.count

    def chunk_texts(self, tenant_id: str) -> Iterator[str]:
        """Every chunk's text (its unit 0), in no particular order."""
        with self._guard():
            if not self._exists(tenant_id):
                return
            offset = None
            while True:
                points, offset = self.client.scroll(
                    self.collection(tenant_id),
                    scroll_filter=self._filter(
                        tenant_id, models.FieldCondition(key="unit", match=models.MatchValue(value=0))
                    ),
                    limit=1024,
                    offset=offset,
                    with_payload=["text"],
                    with_vectors=False,
                )
                for point in points:
                    yield str((point.payload or {}).get("text", ""))
                if offset is None:
                    break

    def search(self, tenant_id: str, query: Query) -> dict[str, list[Hit]]:
        """Dense hits over all units; latent and lexical hits over whole chunks; one round trip."""
        results: dict[str, list[Hit]] = {DENSE: [], LATENT: [], SPARSE: []}
        wanted: list[tuple[str, Any, int]] = []
        if query.dense is not None:
            wanted.append((DENSE, list(map(float, query.dense)), query.dense_limit))
        for name, vec, limit in (
            (LATENT, query.latent, query.latent_limit),
            (SPARSE, query.lexical, query.lexical_limit),
        ):
            if vec is not None and vec[0]:
                wanted.append((name, vec, limit))
        if not wanted:
            return results
        with self._guard():
            if not self._exists(tenant_id):
                return results
            only = set(query.chunk_ids) if query.chunk_ids is not None else None
            if self._local is not None:
                found = self._local.search(self.collection(tenant_id), self.dim, wanted, only)
                for (name, _, _), rows in zip(wanted, found, strict=True):
                    results[name] = [self._hit(score, payload) for score, payload in rows]
                return results
            tenant_only = self._filter(tenant_id)
            assert tenant_only is not None  # server mode: the tenant condition is always there
            chosen = (
                self._filter(
                    tenant_id, models.FieldCondition(key="chunk_id", match=models.MatchAny(any=list(only)))
                )
                if only is not None
                else tenant_only
            )
            requests = [
                models.QueryRequest(
                    query=vec if name == DENSE else models.SparseVector(indices=vec[0], values=vec[1]),
                    using=name,
                    limit=limit,
                    filter=chosen,
                    with_payload=True,
                    # BM25's IDF from this tenant's chunks only: other tenants' documents neither skew
                    # the ranking nor leak their term statistics into it.
                    params=models.SearchParams(idf=models.IdfCorpusParams(corpus=tenant_only))
                    if name == SPARSE
                    else None,
                )
                for name, vec, limit in wanted
            ]
            responses = self.client.query_batch_points(self.collection(tenant_id), requests)
        for (name, _, _), response in zip(wanted, responses, strict=True):
            results[name] = [self._hit(float(p.score), p.payload or {}) for p in response.points]
        return results

    @staticmethod
    def _hit(score: float, payload: dict[str, Any]) -> Hit:
        return Hit(
            chunk_id=payload["chunk_id"],
            source_id=payload["source_id"],
            text=payload["text"],
            unit=int(payload.get("unit", 0)),
            score=score,
            lang=str(payload.get("lang", "en")),
            unit_text=str(payload.get("unit_text", "")),
        )

    def close(self) -> None:
        self.client.close()
