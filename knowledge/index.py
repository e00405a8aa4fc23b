"""The knowledge index: the one place that maps a tenant to its points.

Every tenant's points live in one place with a `tenant_id` keyword index marked `is_tenant`, and
every read, write and delete carries a mandatory tenant filter (a `Scope`); BM25's IDF is counted
over the tenant's own chunks. The same layout in both engines (knowledge/engine/):
- embedded default: one Qdrant Edge shard under the data dir (one process opens it);
- `PARLEY_QDRANT_URL`: one shared collection on a Qdrant server or cluster.

Each chunk is stored as several points: unit 0 is the whole chunk (dense + lexical sparse vector),
units 1.. are its sentences or question (dense only); all carry the chunk's id and text.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from config import Settings
from knowledge.engine.base import DENSE, LATENT, SPARSE, Scope, Search, Sparse, StoredPoint, VectorEngine
from knowledge.engine.edge import EdgeEngine

__all__ = ["DENSE", "LATENT", "SPARSE", "Hit", "IndexPoint", "KnowledgeIndex", "Query", "Sparse"]

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


def _floats(vector: Sequence[float]) -> list[float]:
    """Python floats for the engine, from a list or a numpy row (float32: what both engines store)."""
    floats: list[float] = np.asarray(vector, dtype=np.float32).tolist()
    return floats


class KnowledgeIndex:
    def __init__(self, engine: VectorEngine, *, remove_on_close: Path | None = None) -> None:
        self.engine = engine
        self._remove_on_close = remove_on_close

    @property
    def dim(self) -> int:
        return self.engine.dim

    @classmethod
    def from_settings(cls, settings: Settings, dim: int) -> KnowledgeIndex:
        if settings.qdrant_url:
            from qdrant_client import QdrantClient

            from knowledge.engine.server import ServerEngine

            client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=30)
            return cls(ServerEngine(client, settings.qdrant_collection, dim))
        engine = EdgeEngine(settings.qdrant_edge_path, dim)
        try:
            from knowledge.engine.local_migration import migrate_local_folder

            migrate_local_folder(settings.qdrant_path, engine)
        except BaseException:
            engine.close()
            raise
        return cls(engine)

    @classmethod
    def embedded(cls, path: Path, dim: int) -> KnowledgeIndex:
        """Qdrant Edge in this folder (created on the first write)."""
        return cls(EdgeEngine(path, dim))

    @classmethod
    def temporary(cls, dim: int, parent: Path | None = None) -> KnowledgeIndex:
        """Qdrant Edge in a fresh temporary folder, removed on close (tests, benchmarks)."""
        path = Path(tempfile.mkdtemp(prefix="parley-edge-", dir=parent))
        return cls(EdgeEngine(path, dim), remove_on_close=path)

    # --- the tenant mapping: every call below names its tenant's scope ----------------------------
    @staticmethod
    def point_id(tenant_id: str, chunk_id: str, unit: int) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}/{chunk_id}/{unit}"))

    # --- writes ------------------------------------------------------------------------------------
    def upsert(self, tenant_id: str, points: Sequence[IndexPoint], batch: int = 256) -> None:
        """Writes in batches: a large document's tens of thousands of points are not one call."""
        stored = []
        for p in points:
            vectors: dict[str, Any] = {DENSE: _floats(p.dense)}
            if p.sparse is not None and p.sparse[0]:
                vectors[SPARSE] = p.sparse
            if p.latent is not None and p.latent[0]:
                vectors[LATENT] = p.latent
            payload = {
                "tenant_id": tenant_id,
                "source_id": p.source_id,
                "chunk_id": p.chunk_id,
                "lang": p.lang,
                "unit": p.unit,
                "text": p.text,
                **p.extra,
            }
            stored.append(StoredPoint(self.point_id(tenant_id, p.chunk_id, p.unit), vectors, payload))
        for start in range(0, len(stored), batch):
            self.engine.upsert(stored[start : start + batch])

    def _delete(self, scope: Scope) -> None:
        self.engine.delete(scope)

    def delete_chunks(self, tenant_id: str, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._delete(Scope(tenant_id, {"chunk_id": tuple(chunk_ids)}))

    def delete_source(self, tenant_id: str, source_id: str) -> None:
        self._delete(Scope(tenant_id, {"source_id": source_id}))

    def drop_tenant(self, tenant_id: str) -> None:
        self._delete(Scope(tenant_id))

    # --- reads -------------------------------------------------------------------------------------
    def count(self, tenant_id: str, source_id: str | None = None, *, chunks_only: bool = True) -> int:
        where: dict[str, str | int] = {}
        if source_id:
            where["source_id"] = source_id
        if chunks_only:
            where["unit"] = 0
        return self.engine.count(Scope(tenant_id, where))

    def chunk_texts(self, tenant_id: str) -> Iterator[str]:
        """Every chunk's text (its unit 0), in no particular order."""
        for payload in self.engine.scroll(Scope(tenant_id, {"unit": 0}), ["text"]):
            yield str(payload.get("text", ""))

    def search(self, tenant_id: str, query: Query) -> dict[str, list[Hit]]:
        """Dense hits over all units; latent and lexical hits over whole chunks; one round trip."""
        results: dict[str, list[Hit]] = {DENSE: [], LATENT: [], SPARSE: []}
        tenant = Scope(tenant_id)
        chosen = (
            Scope(tenant_id, {"chunk_id": tuple(query.chunk_ids)}) if query.chunk_ids is not None else tenant
        )
        searches: list[Search] = []
        if query.dense is not None:
            searches.append(Search(DENSE, _floats(query.dense), query.dense_limit, chosen))
        if query.latent is not None and query.latent[0]:
            searches.append(Search(LATENT, query.latent, query.latent_limit, chosen))
        if query.lexical is not None and query.lexical[0]:
            # BM25's IDF from this tenant's chunks only: other tenants' documents neither skew the
            # ranking nor leak their term statistics into it.
            searches.append(Search(SPARSE, query.lexical, query.lexical_limit, chosen, idf=tenant))
        for search, found in zip(searches, self.engine.search(searches), strict=True):
            results[search.using] = [self._hit(score, payload) for score, payload in found]
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
        self.engine.close()
        if self._remove_on_close is not None:
            shutil.rmtree(self._remove_on_close, ignore_errors=True)
            self._remove_on_close = None
