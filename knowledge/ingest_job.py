"""The background job that reads a source and indexes it, recording status and failure reasons.

A source is read (file bytes from the database, a URL through the SSRF-safe fetcher, a Google
document through its API), chunked and handed to the Ingester. Any UnreadableSource becomes the
source's `error`; no other source is touched, and an earlier indexed version stays searchable.
Deleting a source cancels its run: between embedding batches the run checks that the source is still
there, and if not it stops and takes back whatever of the source was written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from config import Settings
from core.db import Database, utcnow
from knowledge.chunking import CHUNKING_FORMAT, chunk_parts
from knowledge.ingest import Ingester
from knowledge.loaders import Extracted, UnreadableSource, web
from knowledge.loaders import google as google_loader
from knowledge.loaders.pdf import load_pdf
from knowledge.loaders.sniff import real_type
from knowledge.loaders.spreadsheet import load_csv, load_xlsx
from knowledge.loaders.text import load_text
from knowledge.models import Source, SourceBlob
from knowledge.quarantine import KEPT, quarantine

log = logging.getLogger(__name__)


class SourceDeleted(Exception):  # noqa: N818 (a signal, not an error)
    """The source was deleted while it was being indexed: the run stops."""


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


@dataclass
class Fetchers:
    """How remote sources are reached; tests swap in fakes (httpx MockTransport, HttpMock, a resolver)."""

    resolver: web.Resolver = web.system_resolver
    transport: httpx.BaseTransport | None = None
    google: Callable[[], google_loader.GoogleServices] | None = None


WEB_FILE_TYPES = {"application/pdf": "pdf", "text/plain": "txt", "text/markdown": "md", "text/csv": "csv"}


def extract_file(file_type: str, data: bytes, max_pages: int, claim: str = "the file's name") -> Extracted:
    """Load `data` by what it holds: a PDF named .txt is read as a PDF, binary junk is refused."""
    file_type = real_type(file_type, data, claim)
    if file_type == "html":
        return web.extract_html(data, "")
    if file_type == "pdf":
        return load_pdf(data, max_pages=max_pages)
    if file_type == "xlsx":
        return load_xlsx(data)
    if file_type == "csv":
        return load_csv(data)
    return load_text(data, markdown=file_type == "md")


class IngestJob:
    def __init__(
        self,
        db: Database,
        ingester: Ingester,
        settings: Settings,
        fetchers: Fetchers,
        bytes_left: Callable[[str, str], int],
    ) -> None:
        self._db = db
        self._ingester = ingester
        self._settings = settings
        self.fetchers = fetchers
        self._bytes_left = lambda tenant_id, exclude: bytes_left(tenant_id, exclude)

    def _set(self, source_id: str, **fields: Any) -> None:
        with self._db.session() as session:
            source = session.get(Source, source_id)
            if source is not None:
                for key, value in fields.items():
                    setattr(source, key, value)
                source.updated_at = utcnow()

    def _extract(self, source: Source) -> tuple[Extracted, int]:
        if source.kind == "file":
            with self._db.session() as session:
                blob = session.get(SourceBlob, source.id)
            if blob is None:
                raise UnreadableSource("the uploaded file is missing")
            return self._extract_file(source.file_type or "", bytes(blob.data)), len(blob.data)
        if source.kind == "url":
            body, content_type, final_url = web.fetch(
                source.origin or "",
                max_bytes=self._bytes_left(source.tenant_id, source.id),
                timeout=self._settings.url_fetch_timeout,
                resolver=self.fetchers.resolver,
                transport=self.fetchers.transport,
            )
            return self._extract_web(body, content_type, final_url), len(body)
        services = self._google()
        if source.kind == "google_doc":
            extracted = google_loader.load_google_doc(services, source.origin or "")
        else:
            extracted = google_loader.load_google_sheet(services, source.origin or "")
        size = sum(len(p.text.encode()) for p in extracted.parts)
        if size > self._bytes_left(source.tenant_id, source.id):
            raise UnreadableSource(
                f"size limit: the document's text ({megabytes(size)}) exceeds what is left of "
                f"the {megabytes(self._settings.max_total_bytes)} per-tenant limit"
            )
        return extracted, size

    def _extract_file(self, file_type: str, data: bytes) -> Extracted:
        return extract_file(file_type, data, self._settings.max_pages_per_file)

    def _extract_web(self, body: bytes, content_type: str, url: str) -> Extracted:
        if content_type in ("text/html", "application/xhtml+xml", ""):
            return web.extract_html(body, url)
        if content_type in WEB_FILE_TYPES:
            return extract_file(
                WEB_FILE_TYPES[content_type],
                body,
                self._settings.max_pages_per_file,
                claim=f"the URL's content type ({content_type})",
            )
        raise UnreadableSource(f"the URL returned {content_type!r}, which cannot be indexed")

    def _google(self) -> google_loader.GoogleServices:
        if self.fetchers.google is not None:
            return self.fetchers.google()
        if self._settings.google_service_account_file is None:
            raise UnreadableSource("Google sources need PARLEY_GOOGLE_SERVICE_ACCOUNT_FILE")
        return google_loader.ServiceAccountServices(
            self._settings.google_service_account_file, self._settings.google_api_base
        )

    def _still_there(self, tenant_id: str, source_id: str) -> None:
        with self._db.session() as session:
            source = session.get(Source, source_id)
        if source is None or source.tenant_id != tenant_id:
            raise SourceDeleted(source_id)

    def _fail(self, source: Source, reason: str) -> None:
        if source.chunks:  # an earlier version was indexed: it stays searchable, say so
            reason += f"; the previous version ({source.chunks} chunks) stays searchable"
        self._set(source.id, status="failed", error=reason)

    def run(self, payload: dict[str, Any]) -> None:
        tenant_id, source_id = payload["tenant_id"], payload["source_id"]
        with self._db.session() as session:
            source = session.get(Source, source_id)
        if source is None or source.tenant_id != tenant_id:
            return  # deleted before its turn came
        if source.version != payload.get("version", source.version):
            return  # superseded by a newer upload; that job will index it
        self._set(source_id, status="indexing", error=None)
        try:
            extracted, size = self._extract(source)
            chunks = chunk_parts(extracted.parts)
            if not chunks:
                raise UnreadableSource("no text to index was found")
            chunks, held = quarantine(chunks)  # instructions planted in the document stay out of the index
            report = self._ingester.ingest(
                tenant_id, source_id, chunks, checkpoint=lambda: self._still_there(tenant_id, source_id)
            )
        except SourceDeleted:
            log.info("source %s was deleted while it was indexed: run cancelled", source_id)
            self._ingester.remove(tenant_id, source_id)  # nothing half-indexed of it is left behind
            return
        except UnreadableSource as exc:
            self._fail(source, exc.message)
            return
        except Exception as exc:
            log.exception("ingest of source %s failed", source_id)
            self._fail(source, f"indexing failed: {type(exc).__name__}: {exc}")
            return
        updates: dict[str, Any] = {
            "status": "ready",
            "chunks": report.chunks,
            "size_bytes": size,
            "error": None,
            "indexed_with": CHUNKING_FORMAT,
            "encoding": extracted.encoding,
            "quarantined": [q.as_dict() for q in held[:KEPT]],
            "quarantined_count": len(held),
        }
        if held:
            log.warning("source %s: %d passages quarantined (they carry instructions)", source_id, len(held))
        if extracted.pages is not None:
            updates["pages"] = extracted.pages
        if source.kind != "file" and extracted.title:
            updates["name"] = extracted.title[:500]
        self._set(source_id, **updates)
        with self._db.session() as session:
            still_there = session.get(Source, source_id) is not None
        if not still_there:  # deleted while we were indexing: take back what we wrote
            self._ingester.remove(tenant_id, source_id)
