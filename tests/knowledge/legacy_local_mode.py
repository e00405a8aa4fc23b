"""The embedded index as it was before Qdrant Edge (knowledge/index.py at e3d11d5): qdrant-client's local
mode in `data/qdrant`, one collection `tenant_<id>` per tenant with the same vectors and payloads. The
migration tests write a folder through it with the real ingest pipeline, as an old install did."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from knowledge.engine.base import DENSE, LATENT, SPARSE, Found, Scope, Search, StoredPoint
from knowledge.engine.server import _filter, _vector


class LegacyLocalMode:
    def __init__(self, path: Path, dim: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.client = QdrantClient(path=str(path))
        self.dim = dim

    @staticmethod
    def _name(tenant_id: str) -> str:
        return f"tenant_{tenant_id}"

    @staticmethod
    def _where(scope: Scope) -> models.Filter | None:
        """The scope without its tenant condition: the collection is the tenant."""
        conditions = _filter(scope).must
        assert isinstance(conditions, list)
        return models.Filter(must=conditions[1:]) if len(conditions) > 1 else None

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        for point in points:
            name = self._name(point.payload["tenant_id"])
            if not self.client.collection_exists(name):
                self.client.create_collection(
                    name,
                    vectors_config={
                        DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={
                        SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF),
                        LATENT: models.SparseVectorParams(),
                    },
                )
            vector = {n: _vector(v) for n, v in point.vectors.items()}
            self.client.upsert(name, [models.PointStruct(id=point.id, vector=vector, payload=point.payload)])

    def delete(self, scope: Scope) -> None:
        name = self._name(scope.tenant_id)
        if self.client.collection_exists(name):
            where = self._where(scope) or models.Filter()
            self.client.delete(name, points_selector=models.FilterSelector(filter=where))

    def count(self, scope: Scope) -> int:
        name = self._name(scope.tenant_id)
        if not self.client.collection_exists(name):
            return 0
        return self.client.count(name, count_filter=self._where(scope)).count

    def scroll(self, scope: Scope, fields: Sequence[str]) -> Iterator[dict[str, Any]]:
        name = self._name(scope.tenant_id)
        if self.client.collection_exists(name):
            points, _ = self.client.scroll(name, scroll_filter=self._where(scope), limit=100_000)
            yield from (dict(p.payload or {}) for p in points)

    def search(self, searches: Sequence[Search]) -> list[list[Found]]:
        out: list[list[Found]] = []
        for s in searches:
            name = self._name(s.scope.tenant_id)
            if not self.client.collection_exists(name):
                out.append([])
                continue
            points = self.client.query_points(
                name, query=_vector(s.vector), using=s.using, limit=s.limit, query_filter=self._where(s.scope)
            ).points
            out.append([(float(p.score), dict(p.payload or {})) for p in points])
        return out

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.client.close()
