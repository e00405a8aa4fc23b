"""Qdrant Edge: Qdrant's embedded Rust engine, the vector store of the embedded default.

One shard under the data dir holds every tenant, in the layout of a Qdrant server's shared collection.
Search is exact (brute force over the tenant's points; `indexing_threshold=0` keeps the optimizer from
building HNSW graphs, whose recall on small collections was 0.84-0.92). Calls are thread-safe and run
outside the GIL. A write is in the write-ahead log when it returns, so a killed process loses nothing
it was told was written; the segments are flushed (fsync) within FLUSH_AFTER of a write and on close,
not after every write: a flush takes 10-300 ms, and a re-ingest deletes its changed chunks one by one.

One process may open a folder: the first takes a lock on it, and any other gets `IndexFolderInUse`.
The shard itself is created on the first write (creating one costs about a second of fsyncs, which
a process that never indexes anything, or a test, should not pay).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import qdrant_edge as qe

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

LOCK_FILE = "parley.lock"
SCROLL_PAGE = 1024
# Seconds after a write, as a Qdrant server flushes (its flush_interval_sec): a flush of a shard of 50k
# points took ~300 ms on 2 busy cores, and a query that overlaps it waits for the cores.
FLUSH_AFTER = 5.0
log = logging.getLogger(__name__)


class IndexFolderInUse(RuntimeError):
    """Another process holds the embedded index folder."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the embedded knowledge index at {path} is open in another process; Qdrant Edge allows one "
            "process per folder. Run one process that holds it, or set PARLEY_QDRANT_URL to a Qdrant "
            "server shared by every process."
        )


def _lock(path: Path) -> IO[str]:
    handle = (path / LOCK_FILE).open("a")
    try:
        import fcntl
    except ImportError:  # Windows: Edge's own lock on its write-ahead log still refuses a second opener
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise IndexFolderInUse(path) from None
    return handle


def _filter(scope: Scope) -> qe.Filter:
    return qdrant_filter(scope, qe)


def _vector(vector: Vector) -> Any:
    return qdrant_vector(vector, qe)


class EdgeEngine:
    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        path.mkdir(parents=True, exist_ok=True)
        self._lock_handle: IO[str] | None = _lock(path)
        self._creating = threading.Lock()
        self._scheduling = threading.Lock()  # the flush timer
        self._io = threading.Lock()  # a flush and the close never overlap; writes and reads take neither
        self._timer: threading.Timer | None = None
        self._shard: qe.EdgeShard | None = None
        if (path / "edge_config.json").exists():
            try:
                self._shard = self._open(lambda: qe.EdgeShard.load(str(path), self._config()))
            except BaseException:
                self.close()
                raise

    def _config(self) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={
                SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf),
                LATENT: qe.EdgeSparseVectorParams(),
            },
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=0),
        )

    def _open(self, opener: Any) -> qe.EdgeShard:
        try:
            shard: qe.EdgeShard = opener()
        except Exception as error:  # the engine's one exception type; a held write-ahead log says WouldBlock
            if "WouldBlock" in str(error):
                raise IndexFolderInUse(self.path) from error
            raise
        indexed = set(shard.info().payload_schema)
        wanted: list[tuple[str, Any]] = [("tenant_id", qe.KeywordIndexParams(is_tenant=True))]
        wanted += [(key, qe.PayloadSchemaType.Keyword) for key in KEYWORD_FIELDS]
        wanted += [(key, qe.PayloadSchemaType.Integer) for key in INTEGER_FIELDS]
        for key, schema in wanted:
            if key not in indexed:
                shard.update(qe.UpdateOperation.create_field_index(key, schema))
        return shard

    def _writable(self) -> qe.EdgeShard:
        if self._shard is None:
            with self._creating:
                if self._shard is None:
                    self._shard = self._open(lambda: qe.EdgeShard.create(str(self.path), self._config()))
        return self._shard

    # --- writes ------------------------------------------------------------------------------------
    def upsert(self, points: Sequence[StoredPoint]) -> None:
        if not points:
            return
        edge_points = [
            qe.Point(id=p.id, vector={name: _vector(v) for name, v in p.vectors.items()}, payload=p.payload)
            for p in points
        ]
        self._writable().update(qe.UpdateOperation.upsert_points(edge_points))
        self._written()

    def delete(self, scope: Scope) -> None:
        if self._shard is not None:
            self._shard.update(qe.UpdateOperation.delete_points_by_filter(_filter(scope)))
            self._written()

    def _written(self) -> None:
        with self._scheduling:
            if self._timer is None and self._shard is not None:
                self._timer = threading.Timer(FLUSH_AFTER, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def _flush_later(self) -> None:
        try:
            self.flush()
        except Exception:  # the next write schedules another; close flushes in any case
            log.exception("flushing the embedded index at %s failed", self.path)

    def flush(self) -> None:
        with self._scheduling:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        with self._io:
            if self._shard is not None:
                self._shard.flush()

    # --- reads -------------------------------------------------------------------------------------
    def count(self, scope: Scope) -> int:
        if self._shard is None:
            return 0
        return int(self._shard.count(qe.CountRequest(exact=True, filter=_filter(scope))))

    def scroll(self, scope: Scope, fields: Sequence[str]) -> Iterator[dict[str, Any]]:
        if self._shard is None:
            return
        offset: Any = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(
                    offset=offset,
                    limit=SCROLL_PAGE,
                    filter=_filter(scope),
                    with_payload=list(fields),
                    with_vector=False,
                )
            )
            for record in records:
                yield dict(record.payload or {})
            if offset is None:
                return

    def search(self, searches: Sequence[Search]) -> list[list[Found]]:
        if self._shard is None or not searches:
            return [[] for _ in searches]
        requests = [
            qe.QueryRequest(
                limit=s.limit,
                query=qe.Query.Nearest(_vector(s.vector), using=s.using),
                filter=_filter(s.scope),
                with_payload=True,
                params=qe.SearchParams(
                    exact=True, idf=qe.IdfParams(corpus=_filter(s.idf)) if s.idf is not None else None
                ),
            )
            for s in searches
        ]
        found = self._shard.query_batch(qe.QueryBatchRequest(requests))
        return [[(float(p.score), dict(p.payload or {})) for p in points] for points in found]

    def close(self) -> None:
        self.flush()
        with self._io:
            if self._shard is not None:
                self._shard.close()  # flushes what a write in the meantime left
                self._shard = None
        if self._lock_handle is not None:
            self._lock_handle.close()  # releases the lock
            self._lock_handle = None

    def __repr__(self) -> str:
        return f"EdgeEngine({os.fspath(self.path)!r})"
