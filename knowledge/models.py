"""Knowledge tables: sources, their raw bytes, and the llama-index docstore entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, new_id, utcnow


class Source(Base):
    __tablename__ = "knowledge_sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))  # file | url | google_doc | google_sheet
    file_type: Mapped[str | None] = mapped_column(String(10), nullable=True)  # pdf | xlsx | csv | txt | md
    origin: Mapped[str | None] = mapped_column(Text, nullable=True)  # URL or Google document id
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    indexed_with: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The chunking format (knowledge/chunking.py CHUNKING_FORMAT) its chunks were made with."""
    encoding: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The text encoding a text, Markdown or CSV source was read in (detected); None for other kinds."""
    quarantined: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    """Passages kept out of the index because they carry instructions: [{"text", "reason"}] (knowledge/
    quarantine.py), at most quarantine.KEPT of them; None until the source is indexed (again)."""
    quarantined_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SourceBlob(Base):
    """Uploaded bytes, kept in the database so any worker process can (re)ingest them."""

    __tablename__ = "knowledge_source_blobs"

    source_id: Mapped[str] = mapped_column(
        ForeignKey("knowledge_sources.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DocstoreEntry(Base):
    """One key of llama-index's key-value docstore (hashes and chunk texts per source)."""

    __tablename__ = "knowledge_docstore"

    collection: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
