"""A Qdrant server or cluster through qdrant-client (`PARLEY_QDRANT_URL`): one shared collection.

Qdrant co-locates each tenant's points by the `tenant_id` index marked `is_tenant`. The tests run
this engine on qdrant-client's in-memory engine (`QdrantClient(":memory:")`), the only Qdrant that
can run on machines without a server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from qdrant_client import QdrantClient, models

from knowledge.engine.base import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    LATENT,
    SPARSE,
    Found,
    Scope,
    Search,
    StoredPoint,
    Vector,
    qdrant_filter,
    qdrant_vector,
)


def _filter(scope: Scope) -> models.Filter:
    return qdrant_filter(scope, models)


def _vector(vector: Vector) -> Any:
    return qdrant_vector(vector, models)


class ServerEngine:
    def __init__(self, client: QdrantClient, collection: str, dim: int) -> None:
        self.client = client
        self.collection = collection
        self.dim = dim
        self._ready = False

    def _exists(self) -> bool:
        if not self._ready:
            self._ready = self.client.collection_exists(self.collection)
        return self._ready

    def _ensure(self) -> None:
        if self._exists():
            return
        self.client.create_collection(
            self.collection,
            vectors_config={DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={
                SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF),
                LATENT: models.SparseVectorParams(),
            },
        )
        self.client.create_payload_index(
            self.collection,
            "tenant_id",
            models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
        )
        for key in KEYWORD_FIELDS:
            self.client.create_payload_index(self.collection, key, models.PayloadSchemaType.KEYWORD)
        for key in INTEGER_FIELDS:
            self.client.create_payload_index(self.collection, key, models.PayloadSchemaType.INTEGER)
        self._ready = True

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        if not points:
            return
        self._ensure()
        structs = [
            models.PointStruct(
                id=p.id, vector={name: _vector(v) for name, v in p.vectors.items()}, payload=p.payload
            )
            for p in points
        ]
        self.client.upsert(self.collection, structs, wait=True)

    def delete(self, scope: Scope) -> None:
        if self._exists():
            selector = models.FilterSelector(filter=_filter(scope))
            self.client.delete(self.collection, points_selector=selector, wait=True)

    def flush(self) -> None:
        return None  # the server acknowledged each write (wait=True) and keeps its own write-ahead log

    def count(self, scope: Scope) -> int:
        if not self._exists():
            return 0
        return self.client.count(self.collection, count_filter=_filter(scope), exact=True).count

    def scroll(self, scope: Scope, fields: Sequence[str]) -> Iterator[dict[str, Any]]:
        if not self._exists():
            return
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection,
                scroll_filter=_filter(scope),
                limit=1024,
                offset=offset,
                with_payload=list(fields),
                with_vectors=False,
            )
            for point in points:
                yield dict(point.payload or {})
            if offset is None:
                return

    def search(self, searches: Sequence[Search]) -> list[list[Found]]:
        if not searches or not self._exists():
            return [[] for _ in searches]
        requests = [
            models.QueryRequest(
                query=_vector(s.vector),
                using=s.using,
                limit=s.limit,
                filter=_filter(s.scope),
                with_payload=True,
                # A server searches its HNSW graphs as configured on the collection, as it always did.
                params=models.SearchParams(idf=models.IdfCorpusParams(corpus=_filter(s.idf)))
                if s.idf is not None
                else None,
            )
            for s in searches
        ]
        responses = self.client.query_batch_points(self.collection, requests)
        return [[(float(p.score), dict(p.payload or {})) for p in r.points] for r in responses]

    def close(self) -> None:
        self.client.close()
