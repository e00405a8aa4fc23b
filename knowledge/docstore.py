"""llama-index's key-value store on our database, so the ingestion docstore lives in SQLite/PostgreSQL.

The IngestionPipeline keeps each chunk's hash here; on re-ingest it compares hashes and embeds only
chunks that changed. Namespaces are "<tenant>/<source>", so deleting a source drops its entries.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.storage.docstore.keyval_docstore import KVDocumentStore
from llama_index.core.storage.kvstore.types import DEFAULT_COLLECTION, BaseKVStore
from sqlalchemy import delete, select

from core.db import Database
from knowledge.models import DocstoreEntry


class SqlKVStore(BaseKVStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, key: str, val: dict[str, Any], collection: str = DEFAULT_COLLECTION) -> None:
        self.put_all([(key, val)], collection=collection)

    def put_all(
        self,
        kv_pairs: list[tuple[str, dict[str, Any]]],
        collection: str = DEFAULT_COLLECTION,
        batch_size: int = 1,
    ) -> None:
        with self._db.session() as session:
            for key, val in kv_pairs:
                session.merge(DocstoreEntry(collection=collection, key=key, value=val))

    def get(self, key: str, collection: str = DEFAULT_COLLECTION) -> dict[str, Any] | None:
        with self._db.session() as session:
            row = session.get(DocstoreEntry, (collection, key))
            return dict(row.value) if row is not None else None

    def get_all(self, collection: str = DEFAULT_COLLECTION) -> dict[str, dict[str, Any]]:
        with self._db.session() as session:
            rows = session.scalars(select(DocstoreEntry).where(DocstoreEntry.collection == collection))
            return {row.key: dict(row.value) for row in rows}

    def delete(self, key: str, collection: str = DEFAULT_COLLECTION) -> bool:
        with self._db.session() as session:
            result = session.execute(
                delete(DocstoreEntry).where(DocstoreEntry.collection == collection, DocstoreEntry.key == key)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete_namespace(self, namespace: str) -> None:
        with self._db.session() as session:
            session.execute(delete(DocstoreEntry).where(DocstoreEntry.collection.startswith(namespace + "/")))

    # The pipeline runs synchronously in a worker thread; the async variants delegate.
    async def aput(self, key: str, val: dict[str, Any], collection: str = DEFAULT_COLLECTION) -> None:
        self.put(key, val, collection)

    async def aget(self, key: str, collection: str = DEFAULT_COLLECTION) -> dict[str, Any] | None:
        return self.get(key, collection)

    async def aget_all(self, collection: str = DEFAULT_COLLECTION) -> dict[str, dict[str, Any]]:
        return self.get_all(collection)

    async def adelete(self, key: str, collection: str = DEFAULT_COLLECTION) -> bool:
        return self.delete(key, collection)


def namespace(tenant_id: str, source_id: str) -> str:
    return f"{tenant_id}/{source_id}"


def docstore_for(kv: SqlKVStore, tenant_id: str, source_id: str) -> KVDocumentStore:
    return KVDocumentStore(kv, namespace=namespace(tenant_id, source_id), batch_size=500)
