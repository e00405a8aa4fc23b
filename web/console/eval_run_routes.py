"""A run's page (admins and QA): its progress refreshing live, then its scores, the gate's result against
its thresholds, the comparison with a baseline run the reader picks, and the HTML report inside the page.

The report is the one GET /v1/evals/runs/{id}/report.html serves (EvalService.report_html), here for a
signed-in user of the run's tenant (the browser holds no API key). It is a page of its own with inline
styles and no script: it gets a policy of its own that lets only this console frame it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from core.errors import ParleyError
from core.staff.sessions import SignedIn
from evals.gate import Gate, threshold_checks
from evals.models import EvalRun
from evals.routes import EvalsDep
from evals.service import EvalService
from web.console import cookies
from web.console.deps import section_user
from web.console.evals_routes import LIVE
from web.console.forms import message
from web.console.render import fragment, render, secure_headers
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/evals/runs", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("evals")]
BaselineQuery = Annotated[str, Query(max_length=32)]

# The report in a frame of the run's page: its own inline styles, nothing else loads, no script runs, and
# only a page of this origin may frame it.
REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox",
    "X-Frame-Options": "SAMEORIGIN",
}


def _gate(run: EvalRun) -> dict[str, Any] | None:
    """The gate's verdict as the run recorded it, with each threshold beside the run's mean."""
    verdict = (run.report or {}).get("gate")
    if not verdict:
        return None
    gate = Gate.model_validate(verdict["gate"])
    means = (run.report or {})["summary"]["metrics"]
    return {**verdict, "checks": threshold_checks(gate, means), "max_regression": gate.max_regression}


def run_context(
    request: Request, evals: EvalService, user: SignedIn, run_id: str, baseline: str
) -> dict[str, Any]:
    tenant = user.user.tenant_id
    run = evals.store.run(tenant, run_id)
    context: dict[str, Any] = {
        "run": run,
        "dataset": evals.store.dataset(tenant, run.dataset_id),
        "live": run.status in LIVE,
        "poll": f"/console/evals/runs/{run.id}/live" + (f"?baseline={baseline}" if baseline else ""),
        "errors": {},
        "comparison": None,
        "baseline": None,
        "chosen": baseline,
    }
    if run.report is None:
        return context
    context["gate"] = _gate(run)
    context["summary"] = run.report["summary"]
    context["choices"] = evals.baselines(tenant, run)
    try:
        context["baseline"], context["comparison"] = evals.compare(tenant, run.id, baseline or None)
    except ParleyError as exc:  # a picked baseline the service refuses: said at the picker
        context["errors"] = {"baseline": message(cookies.lang(request), exc)}
        context["baseline"], context["comparison"] = evals.compare(tenant, run.id)
    report = f"/console/evals/runs/{run.id}/report.html"
    if context["baseline"] is not None and not context["errors"]:
        report += f"?baseline={context['baseline'].id}"
    context["report"] = report
    return context


@router.get("/{run_id}")
def run_page(
    run_id: str, request: Request, evals: EvalsDep, user: SectionDep, baseline: BaselineQuery = ""
) -> Response:
    context = run_context(request, evals, user, run_id, baseline)
    status_code = 422 if context["errors"] else 200
    return render(
        request,
        "eval_run.html",
        user=user,
        section="evals",
        status_code=status_code,
        run=context["run"],
        dataset=context["dataset"],
        poll=context["poll"],
        run_html=fragment("_eval_run.html", request, **context),
    )


@router.get("/{run_id}/live")
def run_fragment(
    run_id: str, request: Request, evals: EvalsDep, user: SectionDep, baseline: BaselineQuery = ""
) -> Response:
    """The run's part of its page: fetched every few seconds while the run is queued or running."""
    html = fragment("_eval_run.html", request, **run_context(request, evals, user, run_id, baseline))
    return secure_headers(HTMLResponse(html))


@router.get("/{run_id}/report.html")
def report(run_id: str, evals: EvalsDep, user: SectionDep, baseline: BaselineQuery = "") -> Response:
    """GET /v1/evals/runs/{id}/report.html for the console; `baseline` compares with another finished run
    of the same dataset (by default the run's own baseline, else the one before it)."""
    html = evals.report_html(user.user.tenant_id, run_id, baseline or None)
    response = HTMLResponse(html, headers=REPORT_HEADERS)
    return secure_headers(response)
