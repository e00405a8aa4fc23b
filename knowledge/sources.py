"""Knowledge sources: create, replace, delete, list, with the per-tenant limits.

Uploads are validated synchronously (type, limits, SSRF) so a bad request gets a 4xx at once;
reading and indexing run in the background job `knowledge.ingest` (knowledge/ingest_job.py).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, or_, select

from config import Settings
from core.db import Database, utcnow
from core.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from core.jobs import JobQueue
from knowledge.chunking import CHUNKING_FORMAT
from knowledge.ingest import Ingester
from knowledge.ingest_job import Fetchers, IngestJob, megabytes
from knowledge.loaders import UnreadableSource, web
from knowledge.loaders.pdf import count_pages
from knowledge.loaders.sniff import real_type
from knowledge.models import Source, SourceBlob

JOB_KIND = "knowledge.ingest"
FILE_TYPES = {".pdf": "pdf", ".xlsx": "xlsx", ".csv": "csv", ".txt": "txt", ".md": "md", ".markdown": "md"}


class UnsupportedFileType(InvalidInput):
    code = "unsupported_file_type"


def file_type_of(filename: str) -> str:
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix not in FILE_TYPES:
        supported = ", ".join(sorted(FILE_TYPES))
        raise UnsupportedFileType(f"unsupported file type {suffix or '(none)'!r}; supported: {supported}")
    return FILE_TYPES[suffix]


class SourceService:
    def __init__(
        self,
        db: Database,
        jobs: JobQueue,
        ingester: Ingester,
        settings: Settings,
        fetchers: Fetchers | None = None,
    ) -> None:
        self._db = db
        self._jobs = jobs
        self._ingester = ingester
        self._settings = settings
        self.job = IngestJob(db, ingester, settings, fetchers or Fetchers(), self.bytes_left)
        jobs.register(JOB_KIND, self.job.run)

    @property
    def fetchers(self) -> Fetchers:
        return self.job.fetchers

    @fetchers.setter
    def fetchers(self, value: Fetchers) -> None:
        self.job.fetchers = value

    # --- limits -----------------------------------------------------------------------------------
    def _check_count(self, tenant_id: str) -> None:
        with self._db.session() as session:
            count = session.scalar(
                select(func.count()).select_from(Source).where(Source.tenant_id == tenant_id)
            )
        if (count or 0) >= self._settings.max_sources:
            raise Conflict(
                f"source limit reached: at most {self._settings.max_sources} knowledge sources per tenant; "
                "delete one first",
                code="source_limit",
            )

    def _bytes_used(self, tenant_id: str, exclude: str | None = None) -> int:
        with self._db.session() as session:
            query = select(func.coalesce(func.sum(Source.size_bytes), 0)).where(Source.tenant_id == tenant_id)
            if exclude:
                query = query.where(Source.id != exclude)
            return int(session.scalar(query) or 0)

    def bytes_left(self, tenant_id: str, exclude: str | None = None) -> int:
        return max(0, self._settings.max_total_bytes - self._bytes_used(tenant_id, exclude))

    def _check_size(self, tenant_id: str, size: int, exclude: str | None = None) -> None:
        used = self._bytes_used(tenant_id, exclude)
        limit = self._settings.max_total_bytes
        if used + size > limit:
            raise LimitExceeded(
                f"size limit: knowledge may total at most {megabytes(limit)} per tenant; "
                f"{megabytes(used)} is used and this file is {megabytes(size)}",
                code="size_limit",
            )

    @staticmethod
    def _content_type(filename: str, data: bytes) -> str:
        """The type the file is loaded as: its name's, unless its bytes say otherwise (a PDF named .txt is
        loaded as a PDF); content no loader reads under any name is refused here, before anything is stored."""
        declared = file_type_of(filename)
        if not data:
            raise InvalidInput("the uploaded file is empty", code="empty_file")
        return real_type(declared, data, claim=f"the name {PurePosixPath(filename).name[:100]!r}")

    def _check_file(self, file_type: str, data: bytes) -> int | None:
        if file_type != "pdf":
            return None
        try:
            pages = count_pages(data)
        except UnreadableSource:
            return None  # the ingest job reports the exact reason as the source's error
        if pages > self._settings.max_pages_per_file:
            raise LimitExceeded(
                f"page limit: the PDF has {pages} pages; at most {self._settings.max_pages_per_file} pages per file",
                code="page_limit",
            )
        return pages

    # --- commands ---------------------------------------------------------------------------------
    def add_file(self, tenant_id: str, filename: str, data: bytes) -> Source:
        file_type = self._content_type(filename, data)
        self._check_count(tenant_id)
        self._check_size(tenant_id, len(data))
        pages = self._check_file(file_type, data)
        source = Source(
            tenant_id=tenant_id,
            name=PurePosixPath(filename).name[:500],
            kind="file",
            file_type=file_type,
            status="queued",
            size_bytes=len(data),
            pages=pages,
            chunks=0,
            version=1,
        )
        with self._db.session() as session:
            session.add(source)
            session.flush()
            session.add(SourceBlob(source_id=source.id, data=data))
        self._enqueue(source)
        return source

    def add_remote(self, tenant_id: str, kind: str, origin: str) -> Source:
        origin = origin.strip()
        self._validate_remote(kind, origin)
        self._check_count(tenant_id)
        source = Source(
            tenant_id=tenant_id,
            name=origin[:500],
            kind=kind,
            origin=origin,
            status="queued",
            size_bytes=0,
            chunks=0,
            version=1,
        )
        with self._db.session() as session:
            session.add(source)
        self._enqueue(source)
        return source

    def replace_file(self, tenant_id: str, source_id: str, filename: str, data: bytes) -> Source:
        current = self.get(tenant_id, source_id)
        if current.kind != "file":
            raise InvalidInput(f"source {source_id} is a {current.kind}; send JSON to refresh it, not a file")
        file_type = self._content_type(filename, data)
        self._check_size(tenant_id, len(data), exclude=source_id)
        pages = self._check_file(file_type, data)
        with self._db.session() as session:
            source = self._owned(session, tenant_id, source_id)
            source.name = PurePosixPath(filename).name[:500]
            source.file_type = file_type
            source.size_bytes = len(data)
            source.pages = pages
            self._requeue(source)
            blob = session.get(SourceBlob, source_id)
            if blob is None:
                session.add(SourceBlob(source_id=source_id, data=data))
            else:
                blob.data = data
        self._enqueue(source)
        return source

    def refresh_remote(self, tenant_id: str, source_id: str, origin: str | None) -> Source:
        current = self.get(tenant_id, source_id)
        if current.kind == "file":
            raise InvalidInput(f"source {source_id} is a file; upload the new file as multipart `file`")
        if origin is not None:
            self._validate_remote(current.kind, origin.strip())
        with self._db.session() as session:
            source = self._owned(session, tenant_id, source_id)
            if origin is not None:
                source.origin = origin.strip()
                source.name = origin.strip()[:500]
            self._requeue(source)
        self._enqueue(source)
        return source

    def delete(self, tenant_id: str, source_id: str) -> None:
        with self._db.session() as session:
            session.delete(self._owned(session, tenant_id, source_id))
        self._ingester.remove(tenant_id, source_id)

    # --- queries ----------------------------------------------------------------------------------
    def get(self, tenant_id: str, source_id: str) -> Source:
        with self._db.session() as session:
            return self._owned(session, tenant_id, source_id)

    def list(self, tenant_id: str) -> list[Source]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(Source).where(Source.tenant_id == tenant_id).order_by(Source.created_at)
                )
            )

    def reindex_outdated(self) -> int:
        """Queue every uploaded file indexed with an older chunking format (or never recorded) for indexing
        again, from its stored bytes; returns how many. URL and Google sources are left for the next re-sync:
        indexing them again would fetch them again."""
        with self._db.session() as session:
            outdated = list(
                session.scalars(
                    select(Source).where(
                        Source.kind == "file",
                        Source.status == "ready",
                        or_(Source.indexed_with.is_(None), Source.indexed_with != CHUNKING_FORMAT),
                    )
                )
            )
        for source in outdated:
            self._enqueue(source)
        return len(outdated)

    def fingerprint(self, tenant_id: str) -> tuple[tuple[str, int, str, int], ...]:
        """Changes whenever the tenant's searchable knowledge does (a source added, re-ingested, removed)."""
        with self._db.session() as session:
            rows = session.execute(
                select(Source.id, Source.version, Source.status, Source.chunks)
                .where(Source.tenant_id == tenant_id)
                .order_by(Source.id)
            )
            return tuple((r.id, r.version, r.status, r.chunks) for r in rows)

    def names(self, tenant_id: str, source_ids: set[str]) -> dict[str, str]:
        if not source_ids:
            return {}
        with self._db.session() as session:
            rows = session.execute(
                select(Source.id, Source.name).where(Source.tenant_id == tenant_id, Source.id.in_(source_ids))
            )
            return {row.id: row.name for row in rows}

    # --- internals --------------------------------------------------------------------------------
    @staticmethod
    def _owned(session: Any, tenant_id: str, source_id: str) -> Source:
        source = session.scalar(select(Source).where(Source.id == source_id, Source.tenant_id == tenant_id))
        if source is None:
            raise NotFound(f"knowledge source {source_id} not found")
        return source

    @staticmethod
    def _requeue(source: Source) -> None:
        source.status = "queued"
        source.error = None
        source.version += 1
        source.updated_at = utcnow()

    def _validate_remote(self, kind: str, origin: str) -> None:
        if not origin:
            raise InvalidInput(f"{kind} must not be empty")
        if kind == "url":
            web.check_url(origin, self.fetchers.resolver)  # refuses private/loopback/link-local (SSRF)
        elif kind in ("google_doc", "google_sheet"):
            if not all(ch.isalnum() or ch in "-_" for ch in origin) or len(origin) > 200:
                raise InvalidInput(f"{kind}_id must be a Google file id (letters, digits, - and _)")
            if self.fetchers.google is None and self._settings.google_service_account_file is None:
                raise InvalidInput(
                    "Google sources need a service account: set PARLEY_GOOGLE_SERVICE_ACCOUNT_FILE",
                    code="google_not_configured",
                )

    def _enqueue(self, source: Source) -> None:
        self._jobs.enqueue(
            JOB_KIND,
            {"tenant_id": source.tenant_id, "source_id": source.id, "version": source.version},
            tenant_id=source.tenant_id,
        )
