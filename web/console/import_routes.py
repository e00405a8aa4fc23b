"""Importing contacts in the console (admins): upload a CSV or XLSX file, map its columns to contact
fields and attributes, see a dry run (counts, the first rows, every row's error), then run it.

The mapping, the checks, the de-duplication and the per-row errors are crm.importer's, called as
POST /v1/contacts/import calls it; the file waits between the steps in ImportStaging.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from config import Settings
from core.audit import user_actor
from core.deps import services_of
from core.errors import ParleyError
from core.staff.sessions import SignedIn
from crm.contacts import FIELDS
from crm.importer import ImportReport, read_rows
from crm.routes import CrmDep
from crm.services import CrmServices
from web.console import cookies
from web.console.contact_routes import require_admin
from web.console.deps import section_poster, section_user
from web.console.forms import message
from web.console.i18n import translate
from web.console.import_staging import ImportStaging, Staged
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/contacts/import", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("contacts")]
SectionPostedDep = Annotated[SignedIn, section_poster("contacts")]
DUPLICATES = ("update", "skip")


def _staging(request: Request) -> ImportStaging:
    return ImportStaging(services_of(request.app).get(Settings).data_dir / "console-imports")


def _header(path: Path) -> list[str]:
    """The file's column names as the importer reads them."""
    # The reader closes before its file does (a generator left open would detach from a closed file).
    with path.open("rb") as data, closing(read_rows(data, path.name)) as rows:
        first = next(rows, [])
    return [str(name or "").strip() for name in first]


def _run(
    crm: CrmServices,
    user: SignedIn,
    staged: Staged,
    mapping: dict[str, str] | None,
    dry_run: bool,
    on_duplicate: str,
) -> ImportReport:
    with staged.path.open("rb") as data, closing(read_rows(data, staged.path.name)) as rows:
        return crm.importer.run(
            user.user.tenant_id,
            user_actor(user.user.id),
            rows,
            mapping,
            dry_run=dry_run,
            update_existing=on_duplicate == "update",
        )


def _page(
    request: Request, crm: CrmServices, user: SignedIn, status_code: int = 200, **context: Any
) -> Response:
    return render(
        request,
        "contact_import.html",
        user=user,
        section="contacts",
        status_code=status_code,
        fields=FIELDS,
        attributes=crm.attributes.all(user.user.tenant_id),
        duplicates=DUPLICATES,
        **{"stage": "upload", "errors": {}, "on_duplicate": "update", "report": None, **context},
    )


@router.get("")
def import_page(request: Request, crm: CrmDep, user: SectionDep) -> Response:
    require_admin(user)
    return _page(request, crm, user)


def _step(
    request: Request,
    crm: CrmServices,
    user: SignedIn,
    staged: Staged,
    filename: str,
    mapping: dict[str, str] | None,
    on_duplicate: str,
    run: bool,
) -> Response:
    """A dry run (or the run) with this mapping, shown with the mapping form; the file's errors at `file`,
    the mapping's at `mapping`."""
    lang = cookies.lang(request)
    context: dict[str, Any] = {"stage": "map", "token": staged.token, "filename": filename}
    context["on_duplicate"] = on_duplicate
    try:
        context["header"] = _header(staged.path)
        report = _run(crm, user, staged, mapping, not run, on_duplicate)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        if "header" not in context:  # not a file the importer reads: choose another
            _staging(request).drop(staged)
            return _page(request, crm, user, 422, errors={"file": message(lang, exc)})
        context["mapping"] = mapping or {}
        return _page(request, crm, user, 422, errors={"mapping": message(lang, exc)}, **context)
    context["mapping"] = report.mapping if mapping is None else mapping
    if run:
        _staging(request).drop(staged)
        context["stage"] = "done"
    return _page(request, crm, user, report=report, **context)


@router.post("")
async def upload(request: Request, crm: CrmDep, user: SectionPostedDep) -> Response:
    """The file, then a dry run with the columns the importer maps by name (the mapping step's default)."""
    require_admin(user)
    lang = cookies.lang(request)
    form = await request.form()
    file = form.get("file")
    on_duplicate = _duplicate(form)
    if not isinstance(file, UploadFile) or not file.filename:
        errors = {"file": translate(lang, "import.no_file")}
        return await run_in_threadpool(_page, request, crm, user, 422, errors=errors)
    try:
        staged = await _staging(request).save(user.user.tenant_id, file)
    except ParleyError as exc:
        errors = {"file": message(lang, exc)}
        return await run_in_threadpool(_page, request, crm, user, 422, errors=errors)
    return await run_in_threadpool(
        _step, request, crm, user, staged, file.filename, None, on_duplicate, False
    )


def _duplicate(form: FormData) -> str:
    chosen = form.get("on_duplicate")
    return chosen if isinstance(chosen, str) and chosen in DUPLICATES else "update"


@router.post("/{token}")
async def map_and_run(token: str, request: Request, crm: CrmDep, user: SectionPostedDep) -> Response:
    """`step=preview`: a dry run with the posted mapping; `step=run`: the import itself."""
    require_admin(user)
    form = await request.form()
    staged = _staging(request).find(user.user.tenant_id, token)
    header = await run_in_threadpool(_header, staged.path)
    mapping = {}
    for index, name in enumerate(header):
        target = form.get(f"map-{index}")
        if name and isinstance(target, str):
            mapping[name] = target
    filename = str(form.get("filename") or staged.path.name)
    run = form.get("step") == "run"
    return await run_in_threadpool(
        _step, request, crm, user, staged, filename, mapping, _duplicate(form), run
    )
