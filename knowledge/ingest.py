"""Ingestion: chunks of one source through llama-index's IngestionPipeline into the Qdrant index.

Each chunk enters the pipeline as a Document whose id is derived from its content, and the
pipeline's docstore (on our database) remembers every chunk's hash. On re-ingest the pipeline
skips unchanged chunks, re-embeds changed ones and, with UPSERTS_AND_DELETE, removes chunks that
disappeared, deleting their vectors through the vector store below. Only new text is embedded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import BaseNode, Document, NodeRelationship, TextNode, TransformComponent
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from pydantic import PrivateAttr

from knowledge import lexical
from knowledge.chunking import CHUNKING_FORMAT, Chunk
from knowledge.docstore import SqlKVStore, docstore_for
from knowledge.embeddings import Embedder
from knowledge.index import DENSE, IndexPoint, KnowledgeIndex, Query


class UnitEmbedding(TransformComponent):
    """Expand each chunk into its retrieval units (the chunk, then its sentences) and embed them in batches."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._embedder = embedder

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        units: list[TextNode] = []
        for node in nodes:
            chunk_text = node.get_content()
            texts = [chunk_text, *node.metadata.get("units", [])]
            for i, text in enumerate(texts):
                units.append(
                    TextNode(
                        id_=f"{node.id_}#{i}",
                        text=text,
                        metadata={
                            "unit": i,
                            "chunk_text": chunk_text,
                            "source_id": node.metadata["source_id"],
                            "lang": node.metadata.get("lang", "en"),
                        },
                        relationships={NodeRelationship.SOURCE: node.as_related_node_info()},
                    )
                )
        vectors = self._embedder.passages([u.text for u in units])
        for unit, vector in zip(units, vectors, strict=True):
            unit.embedding = vector.tolist()
        # Latent-term vectors describe whole chunks (unit 0), like the lexical vector.
        heads = [u for u in units if u.metadata["unit"] == 0]
        latent = self._embedder.latent([u.text for u in heads])
        if latent is not None:
            for unit, sparse in zip(heads, latent, strict=True):
                unit.metadata["latent"] = sparse
        return units


class TenantVectorStore(BasePydanticVectorStore):
    """llama-index's view of one tenant's part of the KnowledgeIndex."""

    stores_text: bool = True
    _index: KnowledgeIndex = PrivateAttr()
    _tenant_id: str = PrivateAttr()

    def __init__(self, index: KnowledgeIndex, tenant_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._index = index
        self._tenant_id = tenant_id

    @property
    def client(self) -> Any:
        return self._index.client

    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        points = []
        for node in nodes:
            unit = int(node.metadata["unit"])
            chunk_text = node.metadata["chunk_text"]
            points.append(
                IndexPoint(
                    chunk_id=node.ref_doc_id or node.id_,
                    unit=unit,
                    source_id=node.metadata["source_id"],
                    text=chunk_text,
                    dense=node.get_embedding(),
                    # The lexical vector covers the whole chunk, so only unit 0 carries it.
                    sparse=lexical.document_vector(chunk_text) if unit == 0 else None,
                    latent=node.metadata.get("latent"),
                    lang=node.metadata.get("lang", "en"),
                    # The unit's own text: the reranker and the responder read which sentence matched.
                    extra={"unit_text": node.get_content()} if unit else {},
                )
            )
        self._index.upsert(self._tenant_id, points)
        return [node.id_ for node in nodes]

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        self._index.delete_chunks(self._tenant_id, [ref_doc_id])

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        if query.query_embedding is None:
            raise ValueError(
                "this store answers dense queries only; use knowledge.retrieval for hybrid search"
            )
        hits = self._index.search(
            self._tenant_id, Query(dense=query.query_embedding, dense_limit=query.similarity_top_k)
        )[DENSE]
        nodes = [TextNode(id_=h.chunk_id, text=h.text, metadata={"source_id": h.source_id}) for h in hits]
        return VectorStoreQueryResult(
            nodes=nodes, similarities=[h.score for h in hits], ids=[h.chunk_id for h in hits]
        )


def chunk_documents(source_id: str, chunks: Sequence[Chunk]) -> list[Document]:
    """Content-derived ids: an unchanged chunk keeps its id wherever it moves in the file (and as long as the
    chunking format stays the same)."""
    seen: Counter[str] = Counter()
    documents = []
    for chunk in chunks:
        # The chunking format is part of the id: chunks made by another format (its units, its lexical
        # vectors) are all made and embedded again when a source is indexed again after an upgrade.
        digest = hashlib.sha1(f"{CHUNKING_FORMAT}\n{chunk.text}".encode()).hexdigest()[:20]
        seen[digest] += 1
        documents.append(
            Document(
                id_=f"{source_id}:{digest}:{seen[digest]}",
                text=chunk.text,
                metadata={
                    "source_id": source_id,
                    "kind": chunk.kind,
                    "units": chunk.units,
                    "lang": lexical.language(chunk.body),
                },
                excluded_embed_metadata_keys=["source_id", "kind", "units", "lang"],
                excluded_llm_metadata_keys=["source_id", "kind", "units", "lang"],
            )
        )
    return documents


@dataclass
class IngestReport:
    chunks: int
    embedded_chunks: int
    embedded_units: int


class Ingester:
    def __init__(self, index: KnowledgeIndex, kv: SqlKVStore, embedder: Embedder) -> None:
        self._index = index
        self._kv = kv
        self._embedder = embedder

    def ingest(self, tenant_id: str, source_id: str, chunks: Sequence[Chunk]) -> IngestReport:
        pipeline = IngestionPipeline(
            transformations=[UnitEmbedding(self._embedder)],
            docstore=docstore_for(self._kv, tenant_id, source_id),
            vector_store=TenantVectorStore(self._index, tenant_id),
            docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
            disable_cache=True,
        )
        documents = chunk_documents(source_id, chunks)
        units = pipeline.run(documents=documents)
        return IngestReport(
            chunks=len(documents),
            embedded_chunks=len({u.ref_doc_id for u in units}),
            embedded_units=len(units),
        )

    def remove(self, tenant_id: str, source_id: str) -> None:
        self._index.delete_source(tenant_id, source_id)
        self._kv.delete_namespace(f"{tenant_id}/{source_id}")
