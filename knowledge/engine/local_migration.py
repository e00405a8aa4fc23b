"""Moves an index from qdrant-client's local mode (the embedded default before Qdrant Edge) into Edge.

Local mode kept one collection per tenant (`tenant_<id>`) in `data/qdrant`. On start, every point of
every such collection is copied with its vectors, payload and id (the ids are derived from tenant,
chunk and unit, so the ingest docstore's records still name them, and a re-ingest embeds nothing
new); then each tenant's count is checked against its collection and the Edge shard flushed. Only
then is the old folder renamed to `qdrant.migrated` (kept: delete it once the new index has served).
A start interrupted halfway copies again: writes by id are idempotent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from knowledge.engine.base import Scope, StoredPoint, Vector
from knowledge.engine.edge import EdgeEngine

log = logging.getLogger(__name__)
PREFIX = "tenant_"
PAGE = 256


class MigrationFailed(RuntimeError):
    pass


def _vectors(raw: Any) -> dict[str, Vector]:
    out: dict[str, Vector] = {}
    for name, vector in (raw or {}).items():
        if hasattr(vector, "indices"):
            out[name] = (list(vector.indices), list(vector.values))
        else:
            out[name] = list(vector)
    return out


def migrate_local_folder(folder: Path, engine: EdgeEngine) -> int:
    """Copies a local-mode folder into the Edge engine; returns the number of points moved (0 when
    there is no such folder)."""
    if not (folder / "meta.json").exists():
        return 0
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(folder))  # refuses a folder another process holds, as it always did
    moved = 0
    try:
        for description in client.get_collections().collections:
            name = description.name
            if not name.startswith(PREFIX):
                log.warning("local-mode collection %s is not a tenant's; left in %s", name, folder)
                continue
            tenant_id = name[len(PREFIX) :]
            offset = None
            while True:
                points, offset = client.scroll(
                    name, limit=PAGE, offset=offset, with_payload=True, with_vectors=True
                )
                engine.upsert(
                    [
                        StoredPoint(
                            str(p.id), _vectors(p.vector), {**(p.payload or {}), "tenant_id": tenant_id}
                        )
                        for p in points
                    ]
                )
                moved += len(points)
                if offset is None:
                    break
            expected = client.count(name, exact=True).count
            found = engine.count(Scope(tenant_id))
            if found != expected:
                raise MigrationFailed(
                    f"tenant {tenant_id}: {expected} points in {folder}, {found} in the Edge index"
                )
        engine.flush()
    finally:
        client.close()
    target = folder.with_name(folder.name + ".migrated")
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{folder.name}.migrated{n}")
    folder.rename(target)
    log.warning(
        "moved %d points from Qdrant local mode into Qdrant Edge; the old folder is now %s", moved, target
    )
    return moved
