"""HTTP surface of knowledge: sources (upload, URL, Google) and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from starlette.datastructures import UploadFile

from core.deps import AdminDep, PrincipalDep, provided
from core.errors import InvalidInput, LimitExceeded, ParleyError
from knowledge.models import Source
from knowledge.services import KnowledgeServices

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])
READ_CHUNK = 1024 * 1024


KnowledgeDep = Annotated[KnowledgeServices, provided(KnowledgeServices)]


class UnsupportedMediaType(ParleyError):
    code = "unsupported_media_type"


class RemoteSourceIn(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    google_doc_id: str | None = Field(default=None, max_length=200)
    google_sheet_id: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _exactly_one(self) -> RemoteSourceIn:
        given = [k for k in ("url", "google_doc_id", "google_sheet_id") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of url, google_doc_id, google_sheet_id")
        return self

    def kind_and_origin(self) -> tuple[str, str]:
        if self.url:
            return "url", self.url
        if self.google_doc_id:
            return "google_doc", self.google_doc_id
        return "google_sheet", self.google_sheet_id or ""


class QuarantinedOut(BaseModel):
    text: str
    reason: str


class SourceOut(BaseModel):
    id: str
    name: str
    kind: str
    file_type: str | None
    origin: str | None
    status: str
    error: str | None
    chunks: int
    size_bytes: int
    pages: int | None
    encoding: str | None = Field(
        default=None, description="The detected text encoding of a text, Markdown or CSV source."
    )
    quarantined: list[QuarantinedOut] = Field(
        default_factory=list,
        description="Passages kept out of the index because they carry instructions (to the assistant, a "
        "fake system notice, a staff password), with the reason; the first 100 (`quarantined_count`: all).",
    )
    quarantined_count: int = 0
    created_at: datetime
    updated_at: datetime

    @field_validator("quarantined", mode="before")
    @classmethod
    def _none_listed(cls, value: Any) -> Any:
        return value or []  # a source indexed before quarantine existed

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        return cls.model_validate(source, from_attributes=True)


class SourceList(BaseModel):
    sources: list[SourceOut]


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)


class HitSource(BaseModel):
    id: str
    name: str


class HitOut(BaseModel):
    text: str
    score: float
    source: HitSource


class SearchOut(BaseModel):
    hits: list[HitOut]


BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {"schema": RemoteSourceIn.model_json_schema()},
        }
    }
}


async def _read_upload(request: Request, limit: int) -> tuple[str, bytes]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("multipart upload needs a `file` field holding the file")
    data = bytearray()
    while piece := await upload.read(READ_CHUNK):
        data.extend(piece)
        if len(data) > limit:
            raise LimitExceeded(
                f"size limit: a file may be at most {limit // (1024 * 1024)} MB", code="size_limit"
            )
    return upload.filename or "upload", bytes(data)


async def _remote_body(request: Request) -> RemoteSourceIn:
    try:
        return RemoteSourceIn.model_validate(await request.json())
    except ValidationError as exc:
        raise InvalidInput("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from exc
    except ValueError as exc:
        raise InvalidInput("the body is not valid JSON") from exc


def _media(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("multipart/form-data", "application/json"):
        raise UnsupportedMediaType(
            "send multipart/form-data with `file`, or JSON with url / google_doc_id / google_sheet_id"
        )
    return media


@router.post(
    "/sources", status_code=status.HTTP_202_ACCEPTED, response_model=SourceOut, openapi_extra=BODY_DOC
)
async def create_source(request: Request, principal: AdminDep, knowledge: KnowledgeDep) -> SourceOut:
    tenant = principal.tenant_id
    if _media(request) == "multipart/form-data":
        limit = knowledge.sources.bytes_left(tenant) + 1
        filename, data = await _read_upload(request, max(limit, 1))
        source = await run_in_threadpool(knowledge.sources.add_file, tenant, filename, data)
    else:
        kind, origin = (await _remote_body(request)).kind_and_origin()
        source = await run_in_threadpool(knowledge.sources.add_remote, tenant, kind, origin)
    return SourceOut.of(source)


@router.get("/sources", response_model=SourceList)
def list_sources(principal: PrincipalDep, knowledge: KnowledgeDep) -> SourceList:
    return SourceList(sources=[SourceOut.of(s) for s in knowledge.sources.list(principal.tenant_id)])


@router.get("/sources/{source_id}", response_model=SourceOut)
def get_source(source_id: str, principal: PrincipalDep, knowledge: KnowledgeDep) -> SourceOut:
    return SourceOut.of(knowledge.sources.get(principal.tenant_id, source_id))


@router.put(
    "/sources/{source_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SourceOut,
    openapi_extra=BODY_DOC,
)
async def replace_source(
    source_id: str, request: Request, principal: AdminDep, knowledge: KnowledgeDep
) -> SourceOut:
    tenant = principal.tenant_id
    if _media(request) == "multipart/form-data":
        limit = knowledge.sources.bytes_left(tenant, exclude=source_id) + 1
        filename, data = await _read_upload(request, max(limit, 1))
        source = await run_in_threadpool(knowledge.sources.replace_file, tenant, source_id, filename, data)
    else:
        raw = await request.body()
        origin = None
        if raw.strip() not in (b"", b"{}"):
            origin = (await _remote_body(request)).kind_and_origin()[1]
        source = await run_in_threadpool(knowledge.sources.refresh_remote, tenant, source_id, origin)
    return SourceOut.of(source)


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_source(source_id: str, principal: AdminDep, knowledge: KnowledgeDep) -> Response:
    knowledge.sources.delete(principal.tenant_id, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/search", response_model=SearchOut)
def search(body: SearchIn, principal: PrincipalDep, knowledge: KnowledgeDep) -> SearchOut:
    hits = knowledge.search(principal.tenant_id, body.query, body.k)
    return SearchOut(
        hits=[
            HitOut(text=h.text, score=h.score, source=HitSource(id=h.source_id, name=h.source_name))
            for h in hits
        ]
    )
