"""The Evals page (admins and QA): the tenant's datasets (upload a file, make one from the ratings), the
runs with their progress refreshing live, and a new run of a dataset with an optional baseline and gate.

Every action calls evals.service.EvalService, as the /v1/evals routes do, and validates with their request
models (DatasetIn, FromRatingsIn, RunIn): the dataset and gate files' checks, the baseline's rules and the
tenant scoping are the service's. A run's own page is eval_run_routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from core.audit import user_actor
from core.errors import NotFound, ParleyError
from core.staff.sessions import SignedIn
from evals.dataset import DATASET_NAME
from evals.gate import parse_gate
from evals.models import EvalDataset, EvalRun
from evals.routes import DatasetIn, EvalsDep, FromRatingsIn, RunIn
from evals.service import EvalService
from evals.store import dataset_of
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import message, validation_errors
from web.console.i18n import translate
from web.console.render import fragment, render, secure_headers
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/evals", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("evals")]
SectionPostedDep = Annotated[SignedIn, section_poster("evals")]
FormStr = Annotated[str, Form()]
RUNS_SHOWN = 50  # the latest runs on the page; the API lists them all
MAX_UPLOAD = 20_000_000  # bytes: DatasetIn takes up to 5,000,000 characters, a CJK one is 3 or 4 bytes
FORMATS: dict[str, Literal["yaml", "jsonl"]] = {".yaml": "yaml", ".yml": "yaml", ".jsonl": "jsonl"}
LIVE = ("queued", "running")
STATUSES = ("queued", "running", "done", "failed")
NOTICES = ("uploaded",)
# Refusals of a new run shown at its baseline field (the rest at the gate's, or the dataset's).
BASELINE_CODES = ("baseline_not_finished", "baseline_other_dataset", "not_found")


def runs_context(evals: EvalService, user: SignedIn) -> dict[str, Any]:
    tenant = user.user.tenant_id
    runs = evals.store.runs(tenant, limit=RUNS_SHOWN, reports=False)
    return {
        "runs": runs,
        "verdicts": evals.store.verdicts(tenant, [run.id for run in runs if run.status == "done"]),
        "datasets": {d.id: d for d in evals.store.datasets(tenant)},
        "live": any(run.status in LIVE for run in runs),
        "more": len(runs) == RUNS_SHOWN,
    }


def _label(run: EvalRun, datasets: dict[str, EvalDataset]) -> str:
    dataset = datasets.get(run.dataset_id)
    name = f"{dataset.name} v{dataset.version}" if dataset else run.dataset_id
    return f"{name} · {run.id} · {run.created_at:%Y-%m-%d %H:%M}"


def _page(
    request: Request,
    evals: EvalService,
    user: SignedIn,
    status_code: int = 200,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    given: dict[str, str] | None = None,
    exported: dict[str, Any] | None = None,
) -> Response:
    lang = cookies.lang(request)
    context = runs_context(evals, user)
    datasets: dict[str, EvalDataset] = context["datasets"]
    done = request.query_params.get("notice")
    if notice is None and done in NOTICES:
        notice = translate(lang, f"notice.evals_{done}")
    finished = [run for run in evals.store.runs(user.user.tenant_id, reports=False) if run.status == "done"]
    return render(
        request,
        "evals.html",
        user=user,
        section="evals",
        status_code=status_code,
        datasets=list(datasets.values()),
        baselines=[(run.id, _label(run, datasets)) for run in finished],
        runs_html=fragment("_eval_runs.html", request, **context),
        errors=errors or {},
        notice=notice,
        given={"dataset_id": request.query_params.get("dataset", ""), **(given or {})},
        exported=exported,
    )


@router.get("")
def evals_page(request: Request, evals: EvalsDep, user: SectionDep) -> Response:
    return _page(request, evals, user)


@router.get("/runs")
def runs_fragment(request: Request, evals: EvalsDep, user: SectionDep) -> Response:
    """The runs table alone: the page's script fetches it every few seconds while a run is in progress."""
    return secure_headers(HTMLResponse(fragment("_eval_runs.html", request, **runs_context(evals, user))))


@router.post("/datasets")
async def upload(request: Request, evals: EvalsDep, user: SectionPostedDep) -> Response:
    """A dataset file as POST /v1/evals/datasets takes its text: YAML, or JSONL with an optional name."""
    lang = cookies.lang(request)
    form = await request.form()
    file, name = form.get("file"), str(form.get("name") or "").strip()
    given = {"name": name}

    def refused(field: str, text: str) -> Response:
        return _page(request, evals, user, 422, errors={field: text}, given=given)

    if not isinstance(file, UploadFile) or not file.filename:
        return await run_in_threadpool(refused, "file", translate(lang, "evals.no_file"))
    fmt = FORMATS.get(Path(file.filename).suffix.lower())
    data = await file.read(MAX_UPLOAD + 1)
    if fmt is None:
        return await run_in_threadpool(refused, "file", translate(lang, "evals.file_type"))
    if len(data) > MAX_UPLOAD:
        return await run_in_threadpool(refused, "file", translate(lang, "evals.too_big"))
    try:
        body = DatasetIn(content=data.decode("utf-8"), format=fmt, name=name or None)
    except UnicodeDecodeError:
        return await run_in_threadpool(refused, "file", translate(lang, "evals.not_utf8"))
    except ValidationError as exc:
        problems = validation_errors(exc)
        field = "name" if "name" in problems else "file"
        return await run_in_threadpool(refused, field, next(iter(problems.values())))
    try:
        await run_in_threadpool(
            evals.upload,
            user.user.tenant_id,
            body.content,
            body.format,
            body.name,
            file.filename,
            user_actor(user.user.id),
        )
    except ParleyError as exc:
        return await run_in_threadpool(refused, "file", message(lang, exc))
    return RedirectResponse("/console/evals?notice=uploaded", status_code=303)


@router.post("/datasets/from-ratings")
def from_ratings(
    request: Request, evals: EvalsDep, user: SectionPostedDep, name: FormStr = "ratings"
) -> Response:
    """As POST /v1/evals/datasets/from-ratings: the page says what was made and why ratings were skipped."""
    lang = cookies.lang(request)
    try:
        body = FromRatingsIn(name=name.strip() or "ratings")
    except ValidationError as exc:
        problems = {"ratings_name": next(iter(validation_errors(exc).values()))}
        return _page(request, evals, user, 422, errors=problems, given={"ratings_name": name})
    export, saved = evals.export_ratings(
        user.user.tenant_id, body.name, save=True, actor=user_actor(user.user.id)
    )
    if saved:
        notice = translate(lang, "evals.exported", name=saved.name, version=saved.version, cases=saved.cases)
    else:
        notice = translate(lang, "evals.nothing_exported")
    exported = {"skipped": export.skipped, "reasons": export.reasons}
    return _page(request, evals, user, notice=notice, exported=exported)


@router.post("/runs")
def start_run(
    request: Request,
    evals: EvalsDep,
    user: SectionPostedDep,
    dataset_id: FormStr = "",
    baseline: FormStr = "",
    gate: FormStr = "",
) -> Response:
    """As POST /v1/evals/runs; the gate is typed as a gate file's YAML (thresholds, max_regression)."""
    lang = cookies.lang(request)
    given = {"dataset_id": dataset_id, "baseline": baseline, "gate": gate}
    try:
        parsed = parse_gate(gate, "gate") if gate.strip() else None
        body = RunIn(dataset_id=dataset_id, baseline_run_id=baseline or None, gate=parsed)
        run = evals.start(
            user.user.tenant_id, body.dataset_id, body.baseline_run_id, body.gate, user_actor(user.user.id)
        )
    except ValidationError as exc:
        problems = validation_errors(exc)
        errors = {"baseline" if k == "baseline_run_id" else k: v for k, v in problems.items()}
        return _page(request, evals, user, 422, errors=errors, given=given)
    except NotFound as exc:
        if not (baseline and exc.message.startswith("eval run")):
            raise  # a dataset the tenant does not have: a 404 page, as for any other id
        return _page(request, evals, user, 422, errors={"baseline": message(lang, exc)}, given=given)
    except ParleyError as exc:
        field = "baseline" if exc.code in BASELINE_CODES else "gate"
        return _page(request, evals, user, 422, errors={field: message(lang, exc)}, given=given)
    return RedirectResponse(f"/console/evals/runs/{run.id}", status_code=303)


@router.get("/datasets/{dataset_id}")
def dataset_page(dataset_id: str, request: Request, evals: EvalsDep, user: SectionDep) -> Response:
    """A dataset's cases as stored (GET /v1/evals/datasets/{id}), and a run of it."""
    dataset = evals.store.dataset(user.user.tenant_id, dataset_id)
    return render(
        request,
        "eval_dataset.html",
        user=user,
        section="evals",
        dataset=dataset,
        description=dataset.content.get("description", ""),
        cases=dataset.content.get("cases", []),
    )


def _yaml_file(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.yaml"'}
    return secure_headers(PlainTextResponse(text, media_type="application/yaml", headers=headers))


@router.get("/datasets/{dataset_id}/dataset.yaml")
def dataset_file(dataset_id: str, evals: EvalsDep, user: SectionDep) -> Response:
    """The stored dataset as a file, to keep in a repository or edit and upload as its next version."""
    row = evals.store.dataset(user.user.tenant_id, dataset_id)
    return _yaml_file(dataset_of(row).to_yaml(), row.name)


@router.get("/ratings.yaml")
def ratings_file(
    evals: EvalsDep,
    user: SectionDep,
    name: Annotated[str, Query(min_length=1, max_length=200, pattern=DATASET_NAME)] = "ratings",
) -> Response:
    """As GET /v1/evals/ratings.yaml: the ratings as a dataset file, nothing stored."""
    export, _ = evals.export_ratings(user.user.tenant_id, name, save=False)
    return _yaml_file(export.dataset.to_yaml(), name)
