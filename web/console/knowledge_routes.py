"""The Knowledge page (admins): sources with their live status, upload, add a URL or Google file,
re-sync, replace, delete, and search with the passages' scores.

Every action calls knowledge.sources / knowledge.search, as the /v1/knowledge routes do: the type,
size, count and page limits, the SSRF check and the tenant scoping are theirs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from config import Settings
from core.deps import services_of
from core.errors import LimitExceeded, ParleyError
from core.staff.sessions import SignedIn
from knowledge.ingest_job import megabytes
from knowledge.routes import READ_CHUNK, KnowledgeDep
from knowledge.services import KnowledgeServices, SearchHit
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import message
from web.console.i18n import translate
from web.console.render import fragment, render, secure_headers
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/knowledge", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("knowledge")]
SectionPostedDep = Annotated[SignedIn, section_poster("knowledge")]
FormStr = Annotated[str, Form()]
REMOTE_KINDS = ("url", "google_doc", "google_sheet")
NOTICES = ("uploaded", "added", "deleted", "syncing")
MAX_QUERY = 2000  # as POST /v1/knowledge/search


def _sources_context(request: Request, knowledge: KnowledgeServices, user: SignedIn) -> dict[str, object]:
    tenant = user.user.tenant_id
    sources = knowledge.sources.list(tenant)
    settings = services_of(request.app).get(Settings)
    return {
        "sources": sources,
        "live": any(s.status in ("queued", "indexing") for s in sources),
        "used": settings.max_total_bytes - knowledge.sources.bytes_left(tenant),
        "limits": settings,
        "csrf": user.csrf,
    }


def _page(
    request: Request,
    knowledge: KnowledgeServices,
    user: SignedIn,
    status_code: int = 200,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    remote_kind: str = "url",
    remote_origin: str = "",
) -> Response:
    """The page; with `?q=` the search's passages and scores, with `?notice=` a done action's message."""
    lang = cookies.lang(request)
    query = request.query_params.get("q", "").strip()
    hits: list[SearchHit] | None = None
    errors = dict(errors or {})
    if len(query) > MAX_QUERY:
        errors["q"] = translate(lang, "err.query_too_long")
    elif query:
        hits = knowledge.search(user.user.tenant_id, query, 5)
    done = request.query_params.get("notice")
    if notice is None and done in NOTICES:
        notice = translate(lang, f"notice.{done}")
    return render(
        request,
        "knowledge.html",
        user=user,
        section="knowledge",
        status_code=status_code,
        query=query,
        hits=hits,
        errors=errors,
        notice=notice,
        sources_html=fragment("_sources.html", request, **_sources_context(request, knowledge, user)),
        remote_kinds=REMOTE_KINDS,
        remote_kind=remote_kind,
        remote_origin=remote_origin,
    )


def _done(notice: str) -> Response:
    return RedirectResponse(f"/console/knowledge?notice={notice}", status_code=303)


@router.get("")
def knowledge_page(request: Request, knowledge: KnowledgeDep, user: SectionDep) -> Response:
    return _page(request, knowledge, user)


@router.get("/sources")
def sources_fragment(request: Request, knowledge: KnowledgeDep, user: SectionDep) -> Response:
    """The sources table alone: the page's script fetches it every few seconds while one is in progress."""
    html = fragment("_sources.html", request, **_sources_context(request, knowledge, user))
    return secure_headers(HTMLResponse(html))


async def _read(upload: UploadFile, left: int) -> bytes:
    """The file's bytes; past the space the tenant has left, only counted (not held) to say how big it is."""
    data = bytearray()
    size = 0
    while piece := await upload.read(READ_CHUNK):
        size += len(piece)
        if size <= left:
            data.extend(piece)
    if size > left:
        raise LimitExceeded(
            f"size limit: the file is {megabytes(size)} and {megabytes(left)} of knowledge space is left",
            code="size_limit",
        )
    return bytes(data)


@router.post("/upload")
async def upload(request: Request, knowledge: KnowledgeDep, user: SectionPostedDep) -> Response:
    lang = cookies.lang(request)
    tenant = user.user.tenant_id
    files = [f for f in (await request.form()).getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not files:
        return await run_in_threadpool(
            _page, request, knowledge, user, 422, errors={"files": translate(lang, "knowledge.no_file")}
        )
    problems: list[str] = []
    queued = 0
    for upload_file in files:
        try:
            left = await run_in_threadpool(knowledge.sources.bytes_left, tenant)
            data = await _read(upload_file, left)
            await run_in_threadpool(
                knowledge.sources.add_file, tenant, upload_file.filename or "upload", data
            )
            queued += 1
        except ParleyError as exc:
            problems.append(f"{upload_file.filename}: {message(lang, exc)}")
    if not problems:
        return _done("uploaded")
    notice = translate(lang, "knowledge.uploaded", count=queued) if queued else None
    return await run_in_threadpool(
        _page,
        request,
        knowledge,
        user,
        200 if queued else 422,
        errors={"files": "\n".join(problems)},
        notice=notice,
    )


@router.post("/remote")
async def add_remote(
    request: Request,
    knowledge: KnowledgeDep,
    user: SectionPostedDep,
    kind: FormStr = "url",
    origin: FormStr = "",
) -> Response:
    lang = cookies.lang(request)
    if kind not in REMOTE_KINDS:
        kind = "url"
    try:
        await run_in_threadpool(knowledge.sources.add_remote, user.user.tenant_id, kind, origin)
    except ParleyError as exc:
        errors = {"origin": message(lang, exc)}
        return await run_in_threadpool(
            _page, request, knowledge, user, 422, errors=errors, remote_kind=kind, remote_origin=origin
        )
    return _done("added")


@router.post("/sources/{source_id}/sync")
async def sync(source_id: str, knowledge: KnowledgeDep, user: SectionPostedDep) -> Response:
    """Fetch a URL or Google source again and index it (a file is replaced with a new upload instead)."""
    await run_in_threadpool(knowledge.sources.refresh_remote, user.user.tenant_id, source_id, None)
    return _done("syncing")


@router.post("/sources/{source_id}/replace")
async def replace(
    source_id: str, request: Request, knowledge: KnowledgeDep, user: SectionPostedDep
) -> Response:
    lang = cookies.lang(request)
    tenant = user.user.tenant_id
    upload_file = (await request.form()).get("file")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        return await run_in_threadpool(
            _page, request, knowledge, user, 422, errors={"files": translate(lang, "knowledge.no_file")}
        )
    try:
        left = await run_in_threadpool(knowledge.sources.bytes_left, tenant, source_id)
        data = await _read(upload_file, left)
        await run_in_threadpool(knowledge.sources.replace_file, tenant, source_id, upload_file.filename, data)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        return await run_in_threadpool(
            _page,
            request,
            knowledge,
            user,
            422,
            errors={"files": f"{upload_file.filename}: {message(lang, exc)}"},
        )
    return _done("uploaded")


@router.post("/sources/{source_id}/delete")
async def delete(source_id: str, knowledge: KnowledgeDep, user: SectionPostedDep) -> Response:
    await run_in_threadpool(knowledge.sources.delete, user.user.tenant_id, source_id)
    return _done("deleted")
